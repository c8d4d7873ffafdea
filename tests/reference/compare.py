"""Put the engine's trace next to what real Redis did, step by step, and say where they part.

Both sides are reduced to the same comparable view of a step: its status and reply, who was
answered during it (a mapping actor → kind and reply, since real threads receive in any order),
the watched keys, who is still blocked (in the order they blocked, with the step they blocked at),
the variables, the process memory, and what each subscriber listens to and has received.
"""

from __future__ import annotations

from typing import Any

FIELDS = ("status", "reply", "events", "state", "blocked", "variables", "processes", "subscribed")


def engine_view(step: dict[str, Any]) -> dict[str, Any]:
    """One step record of an engine trace, in the runner's comparable shape."""
    return {
        "status": step["status"],
        "reply": step["reply"],
        "events": {e["actor"]: {"kind": e["kind"], "reply": e["reply"]} for e in step["events"]},
        "state": step["state"],
        "blocked": [(actor, blocked["since"]) for actor, blocked in step["blocked"].items()],
        "variables": step["variables"],
        "processes": step["processes"],
        "subscribed": step["subscribed"],
    }


def differences(reference: list[dict[str, Any]], trace: dict[str, Any], engine_name: str) -> list[str]:
    """Empty when the trace agrees with real Redis; otherwise the first step that differs, field by
    field with both values, then the numbers of the later steps that differ too (they usually
    follow from the first)."""
    steps = trace["steps"]
    if len(steps) != len(reference):
        return [f"the engine ran {len(steps)} steps, real Redis {len(reference)}"]
    report: list[str] = []
    later: list[int] = []
    for number, (real, record) in enumerate(zip(reference, steps, strict=True), 1):
        ours = engine_view(record)
        fields = [name for name in FIELDS if real[name] != ours[name]]
        if not fields:
            continue
        if report:
            later.append(number)
            continue
        command = (record["command"] or {}).get("cli") or record["python"] or record["note"]
        report.append(f"step {number} ({record['actor']}: {command}) differs in {', '.join(fields)}:")
        for name in fields:
            depth = 1 if name in ("state", "variables", "processes") else 3  # a key or variable is shown whole
            for path, theirs, mine in _leaves(name, real[name], ours[name], depth):
                report.append(f"  {path}:")
                report.append(f"    real Redis:          {theirs!r}")
                report.append(f"    engine on {engine_name + ':':<10} {mine!r}")
    if later:
        report.append(f"later steps that differ too: {', '.join(map(str, later))}")
    return report


def _leaves(path: str, real: Any, ours: Any, depth: int) -> list[tuple[str, Any, Any]]:
    """The innermost parts that differ (down to `depth`), so a long reply shows only what is wrong with it."""
    if depth > 0 and isinstance(real, dict) and isinstance(ours, dict) and real.keys() == ours.keys():
        found: list[tuple[str, Any, Any]] = []
        for key in real:
            if real[key] != ours[key]:
                found.extend(_leaves(f"{path}.{key}", real[key], ours[key], depth - 1))
        return found
    return [(path, real, ours)]
