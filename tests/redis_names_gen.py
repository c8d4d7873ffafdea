"""Write tutor/redis_names.py from a real server's `COMMAND LIST`: every command name Redis knows.

Run it against the redis-server the project targets (Debian's 7.0.15):

    .venv/bin/python tests/redis_names_gen.py redis://127.0.0.1:6379/0

tests/test_redis_names.py renders the module the same way from a live server and compares.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

import redis

TARGET = Path(__file__).resolve().parent.parent / "tutor" / "redis_names.py"


def server_names(url: str) -> tuple[str, list[str]]:
    """The server's version and its `COMMAND LIST` (names, with `container|sub` for subcommands)."""
    client = redis.Redis.from_url(url, decode_responses=True, single_connection_client=True)
    try:
        version = str(client.info("server")["redis_version"])
        connection = client.connection
        assert connection is not None
        connection.send_command("COMMAND", "LIST")  # around redis-py's COMMAND callback, which wants COMMAND INFO
        names = [str(n) for n in connection.read_response()]
    finally:
        client.close()
    return version, names


def render(version: str, names: Iterable[str]) -> str:
    """The module's text: top-level names, and each container's subcommands, upper-case and sorted."""
    top = sorted({n.upper() for n in names if "|" not in n})
    subs: dict[str, set[str]] = {}
    for name in names:
        if "|" in name:
            container, sub = name.upper().split("|", 1)
            subs.setdefault(container, set()).add(sub)
    lines = [
        '"""Every command name Redis knows, so a refusal can tell a typo from a real command.',
        "",
        f"Generated from `COMMAND LIST` on redis-server {version} by tests/redis_names_gen.py; do not edit.",
        "tests/test_redis_names.py regenerates it from a real server and fails when the two differ.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        f'REDIS_VERSION = "{version}"',
        "",
        "REDIS_COMMANDS: frozenset[str] = frozenset(",
        "    (",
    ]
    lines += [f'        "{name}",' for name in top]
    lines += ["    )", ")", "", "SUBCOMMANDS: dict[str, frozenset[str]] = {"]
    for container in sorted(subs):
        lines += [f'    "{container}": frozenset(', "        ("]
        lines += [f'            "{sub}",' for sub in sorted(subs[container])]
        lines += ["        )", "    ),"]
    lines += ["}", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    TARGET.write_text(render(*server_names(sys.argv[1])))
    print(f"wrote {TARGET}")
