"""Read `redis-cli MONITOR` lines back into commands: shared by the Celery fidelity test and its bench."""

from __future__ import annotations

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
