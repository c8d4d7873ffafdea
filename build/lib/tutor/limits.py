"""Hard limits on what one lesson may ask of the engine, so no lesson can exhaust the site."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """The caps; a lesson beyond them is a check error, never a slow page."""

    steps: int = 200
    actors: int = 8
    watch: int = 16
    variables: int = 16
    reply_chars: int = 65_536  # the whole reply kept in the JSON trace
    shown_chars: int = 80  # what the table shows before an ellipsis
    command_timeout_seconds: float = 5.0  # a real Redis socket never waits longer than this


LIMITS = Limits()
