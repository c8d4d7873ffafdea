"""Instructions `tutor check` spends per lesson, counted by valgrind: a figure a busy machine does not move.

    .venv/bin/python bench/check_instructions.py

Times on a shared 2-core machine vary by a quarter from one minute to the next, so two versions of
the code are hard to compare by `bench/check_many.py` alone. Instructions executed hardly vary.
This runs the curriculum's lessons, checked one after another as `tutor check` does in each of its
processes (load: parse, schema check, model; then execute and judge on the embedded backend),
under `valgrind --tool=callgrind` once with one pass over the lessons and once with three passes;
the difference, divided by the lessons of two passes, leaves start-up and first-time costs out.
Prints instructions per lesson for the whole check and for loading alone. Needs valgrind (Debian's
package `valgrind`); it takes three to six minutes. Figures only.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from servers import ROOT

# Run in the child: `passes` passes over the curriculum, loading only or checking whole.
CHILD = """
import sys
from pathlib import Path
from tutor import checker, loader
from tutor.backend import Backend

files = sorted(Path(sys.argv[1]).glob("*.yaml"))
passes, whole = int(sys.argv[2]), sys.argv[3] == "check"
backend = Backend()
checker._check_file(files[0], backend)  # imports and first-time caches, in both counts alike
for _ in range(passes):
    for file in files:
        if whole:
            checker._check_file(file, backend)
        else:
            loader.load_file(file)
"""


def instructions(passes: int, what: str) -> int:
    """Instructions the child executed in all (callgrind's "Collected")."""
    done = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            "-c",
            CHILD,
            str(ROOT / "lessons"),
            str(passes),
            what,
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"valgrind failed:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
    lessons = len(list(Path(ROOT / "lessons").glob("*.yaml")))
    for what, label in (("check", "tutor check, whole"), ("load", "loading alone (parse, schema, model)")):
        per_lesson = (instructions(3, what) - instructions(1, what)) / (2 * lessons)
        print(f"{label}: {per_lesson / 1e6:.1f} million instructions per lesson ({lessons} curriculum lessons)")


if __name__ == "__main__":
    main()
