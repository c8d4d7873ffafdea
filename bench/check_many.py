"""`tutor check` on a folder of generated lessons: the time per lesson.

    .venv/bin/python bench/check_many.py [--lessons 1000]

Writes N lesson files into a temporary folder, each a copy of one of the curriculum's lessons
(cycling through them) whose every text value of `title` is made unique and whose pushed job names
differ, so no two files have the same content. Then runs `tutor check FOLDER` as a user would (a new
process, the embedded backend; from 40 files on it checks them in one process per core, and the CPU
time printed is all of theirs) and prints the wall time, the time per lesson, and the same for the
curriculum alone, what parsing one lesson costs with libyaml's parser and with the Python one, and
where a lesson's CPU goes (load, of which parse and schema check; execute and judge) in one process;
the generated lessons are as large as the curriculum's (5 to 26 steps, 560 lines).
Target (issue 12): at most 10 ms per lesson at 1,000 lessons.
"""

from __future__ import annotations

import argparse
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from servers import ROOT


def generate(folder: Path, count: int) -> None:
    sources = sorted((ROOT / "lessons").glob("*.yaml"))
    texts = [source.read_text(encoding="utf-8") for source in sources]
    for index in range(count):
        text = texts[index % len(texts)]
        text = re.sub(r"^title: .*$", f"title: Lesson copy {index}", text, count=1, flags=re.M)
        text = re.sub(r"^order: \d+$", f"order: {index}", text, count=1, flags=re.M)
        # A copy's file name is its id, so the topics the original builds on are not there: drop them.
        text = re.sub(r"^builds_on: .*\n", "", text, count=1, flags=re.M)
        (folder / f"lesson-{index:04d}.yaml").write_text(text, encoding="utf-8")


def check(folder: Path) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (the child's user + system: what the check cost on a busy machine), output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "tutor", "check", str(folder)], capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"tutor check failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return elapsed, cpu, done.stdout.strip()


def parse_times(rounds: int = 20) -> None:
    """Parsing the curriculum with libyaml's parser (what tutor uses) and with PyYAML's Python parser."""
    import yaml

    from tutor import yamlpos

    texts = [source.read_text(encoding="utf-8") for source in sorted((ROOT / "lessons").glob("*.yaml"))]
    chosen = yamlpos._FAST_LOADER
    try:
        for label, loader in (("libyaml (CSafeLoader)", yaml.CSafeLoader), ("Python (SafeLoader)", yaml.SafeLoader)):
            yamlpos._FAST_LOADER = loader
            start = time.process_time()
            for _ in range(rounds):
                for text in texts:
                    yamlpos.load(text)
            each = (time.process_time() - start) / (rounds * len(texts)) * 1000
            print(f"parse one curriculum lesson with positions, {label}: {each:.2f} ms CPU")
    finally:
        yamlpos._FAST_LOADER = chosen


def phases(folder: Path, sample: int = 100) -> str:
    """Where a lesson's CPU goes, in this process, on the first `sample` generated lessons.

    Lesson by lesson, as `tutor check` goes, keeping nothing of one lesson for the next. Loading is
    parsing, the schema check and building the model; the first two are also timed alone.
    """
    from tutor import checker, loader, validation, yamlpos
    from tutor.backend import Backend

    files = sorted(folder.glob("*.yaml"))[:sample]
    backend = Backend()
    spent = dict.fromkeys(("parse", "schema", "load", "execute and judge"), 0.0)
    for file in files:
        text = file.read_text(encoding="utf-8")
        start = time.process_time()
        value = yamlpos.load(text).value
        parsed = time.process_time()
        validation.schema_problems(value)
        checked = time.process_time()
        loaded = loader.load_text(text, str(file), file.stem)
        built = time.process_time()
        assert loaded.lesson is not None
        checker.check_lesson(loaded.lesson, loaded, backend)
        done = time.process_time()
        for name, seconds in zip(spent, (parsed - start, checked - parsed, built - checked, done - built), strict=True):
            spent[name] += seconds
    backend.close()
    each = {name: seconds / len(files) * 1000 for name, seconds in spent.items()}
    parts = (
        f"load {each['load']:.2f} (parsing alone {each['parse']:.2f}, the schema check alone {each['schema']:.2f}), "
        f"execute and judge {each['execute and judge']:.2f}"
    )
    return f"CPU per lesson in one process ({len(files)} generated lessons), ms: {parts}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lessons", type=int, default=1000)
    args = parser.parse_args()
    parse_times()
    curriculum = len(list((ROOT / "lessons").glob("*.yaml")))
    seconds, cpu, _ = check(ROOT / "lessons")
    print(
        f"tutor check lessons/ ({curriculum} lessons): {seconds:.2f} s wall = {seconds / curriculum * 1000:.1f} "
        f"ms/lesson; {cpu:.2f} s CPU = {cpu / curriculum * 1000:.1f} ms/lesson (start-up included)"
    )
    with tempfile.TemporaryDirectory(prefix="tutor-check-bench-") as tmp:
        folder = Path(tmp)
        generate(folder, args.lessons)
        seconds, cpu, said = check(folder)
        where = phases(folder)
    print(
        f"tutor check on {args.lessons} generated lessons: {seconds:.2f} s wall = "
        f"{seconds / args.lessons * 1000:.1f} ms/lesson; {cpu:.2f} s CPU = {cpu / args.lessons * 1000:.1f} ms/lesson "
        f"(said: {said!r}; target at most 10 ms/lesson)"
    )
    print(where)


if __name__ == "__main__":
    main()
