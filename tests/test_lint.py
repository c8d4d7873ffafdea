"""CI holds tutor/ to the house rules: ruff check, ruff format and mypy --strict all clean."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "tutor"],
        ["ruff", "format", "--check", "tutor"],
        ["mypy", "--strict", "tutor"],
    ],
    ids=["ruff-check", "ruff-format", "mypy-strict"],
)
def test_tutor_is_clean(command: list[str]) -> None:
    done = subprocess.run([sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
