"""MONITOR, read back into commands: the parser and a threaded reader, shared by the fidelity tests and benches."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass

_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "a": "\a", "b": "\b", '"': '"', "\\": "\\"}


def parse_monitor_line(line: str) -> tuple[float, str, list[str]] | None:
    """`1700000000.123 [0 127.0.0.1:5555] "LPUSH" "celery" "..."` -> (time, client, args).

    Redis quotes each argument with sdscatrepr: \\\\ \\" \\n \\r \\t \\a \\b and \\xHH.
    """
    if not line or line[0] not in "0123456789":
        return None
    stamp, _, rest = line.partition(" [")
    client, _, rest = rest.partition("] ")
    args: list[str] = []
    i, n = 0, len(rest)
    while i < n:
        if rest[i] != '"':
            i += 1
            continue
        i += 1
        out: list[str] = []
        while i < n and rest[i] != '"':
            ch = rest[i]
            if ch == "\\" and i + 1 < n:
                nxt = rest[i + 1]
                if nxt == "x" and i + 3 < n:
                    out.append(chr(int(rest[i + 2 : i + 4], 16)))
                    i += 4
                    continue
                out.append(_ESCAPES.get(nxt, nxt))
                i += 2
                continue
            out.append(ch)
            i += 1
        args.append("".join(out))
        i += 1
    return float(stamp), client.split(" ", 1)[-1], args


@dataclass(frozen=True)
class Command:
    """One command as MONITOR reported it."""

    index: int
    stamp: float
    client: str  # "127.0.0.1:PORT", or "lua" for commands run by a script
    argv: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.argv[0].upper()

    @property
    def key(self) -> str | None:
        return self.argv[1] if len(self.argv) > 1 else None


class Monitor:
    """A raw MONITOR connection whose lines a thread collects until stop()."""

    def __init__(self, host: str, port: int) -> None:
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sock = socket.create_connection((host, port), timeout=5)
        self._sock.sendall(b"MONITOR\r\n")
        self._sock.settimeout(0.1)
        self._thread = threading.Thread(target=self._read, name="monitor", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        buffer = b""
        while not self._stop.is_set():
            try:
                chunk = self._sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            *complete, buffer = buffer.split(b"\r\n")
            with self._lock:
                self._lines.extend(line.decode("latin-1") for line in complete)

    @property
    def started(self) -> bool:
        with self._lock:
            return "+OK" in self._lines

    def parsed(self) -> list[tuple[float, str, list[str]]]:
        """Every command seen so far, in MONITOR's order, as (time, client, args)."""
        with self._lock:
            lines = list(self._lines)
        return [p for p in (parse_monitor_line(line[1:]) for line in lines if line.startswith("+")) if p]

    def commands(self) -> list[Command]:
        """Every command seen so far, numbered in MONITOR's order."""
        return [Command(i, stamp, client, tuple(argv)) for i, (stamp, client, argv) in enumerate(self.parsed())]

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()
