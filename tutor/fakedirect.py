"""The embedded server's connections, handing each command to fakeredis as its fields, not as protocol bytes.

redis-py writes a command as RESP bytes and fakeredis parses them back into the same fields before
it runs anything: for the small commands lessons send, that round trip was 12% of the instructions
`tutor check` spends executing a lesson (some 75 commands; `bench/check_instructions.py`). Here the fields
are made as redis-py's packer makes them (the same encoder, a command name with spaces split the
same way) and given to the fake socket's own entry point for a parsed command. What runs after
that, the reply, its queue and its decoding, is fakeredis's and redis-py's, unchanged.

Anything else written to the connection as bytes still goes through fakeredis's parser, so the two
paths can meet on one connection: each command is whole before the next one starts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import redis
from fakeredis import _msgs
from fakeredis._clients._sync import FakeRedisConnection


class _Fields:
    """One command's fields, as fakeredis's parser would have made them from redis-py's bytes."""

    __slots__ = ("fields",)

    def __init__(self, fields: list[bytes]) -> None:
        self.fields = fields


class DirectConnection(FakeRedisConnection):
    """A fakeredis connection that skips the protocol in the direction of the server."""

    def _fields(self, args: Sequence[Any]) -> _Fields:
        """As redis-py's PythonRespSerializer.pack: the name's words apart, every argument by the encoder."""
        first = args[0]
        if isinstance(first, str):
            head: tuple[Any, ...] = tuple(first.encode().split())
        elif b" " in first:
            head = tuple(first.split())
        else:
            head = (first,)
        encode = self.encoder.encode
        fields = [bytes(arg) if isinstance(arg, memoryview) else arg for arg in map(encode, (*head, *args[1:]))]
        return _Fields(fields)

    def pack_command(self, *args: Any) -> list[Any]:
        return [self._fields(args)]

    def pack_commands(self, commands: Iterable[Sequence[Any]]) -> list[Any]:
        return [self._fields(command) for command in commands]

    def send_command(self, *args: Any, **kwargs: Any) -> None:
        self.send_packed_command([self._fields(args)], check_health=kwargs.get("check_health", True))

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        if isinstance(command, (str, bytes)) or not all(isinstance(item, _Fields) for item in command):
            super().send_packed_command(command, check_health)  # type: ignore[no-untyped-call]
            return
        if not self._sock:
            self.connect_check_health(check_health=False)
        if check_health:
            self.check_health()  # type: ignore[no-untyped-call]
        sock: Any = self._sock
        for item in command:
            if not sock._server.connected or sock._killed:  # noqa: SLF001 - as the fake socket's sendall
                self.disconnect()  # type: ignore[no-untyped-call]
                raise redis.ConnectionError(_msgs.CONNECTION_ERROR_MSG)
            sock._process_command(item.fields)  # noqa: SLF001 - the parser's own next step
