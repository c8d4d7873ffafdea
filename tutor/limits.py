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
    # what one lesson file may hold, so a hostile file harms nothing but itself
    file_bytes: int = 1_048_576
    yaml_depth: int = 50  # nesting levels
    yaml_values: int = 50_000  # values after expanding every alias
    number_chars: int = 40  # Python cannot even convert a 4,300-digit integer to text
    step_throughs: int = 50
    questions: int = 50  # per quiz
    choices: int = 12  # per question
    list_items: int = 100  # key moments, concept stages, tips, comparison rows...
    wait_seconds: int = 1_000_000_000
    problems_per_file: int = 100


LIMITS = Limits()
