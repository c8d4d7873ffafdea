"""The catalog serves the last version of each lesson file that passed every check, and no other."""

from __future__ import annotations

import hashlib
import os
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tutor import catalog as catalog_module
from tutor.catalog import Catalog

GOOD = """\
title: Queue {n}
step_through:
  actors: [app]
  watch: [q]
  steps:
    - {{actor: app, action: Push, redis: LPUSH q a, expect: 1}}
"""

# Loads cleanly, but its expectation is wrong: only execution finds out.
FAILS_WHEN_RUN = """\
title: Queue that lies
step_through:
  actors: [app]
  watch: [q]
  steps:
    - {actor: app, action: Push, redis: LPUSH q a, expect: 2}
"""

TYPO = """\
title: Queue with a typo
step_through:
  actors: [app]
  watch: [q]
  steps:
    - {actor: app, action: Push, redis: LPUHS q a}
"""


class Clock:
    """A clock the test moves by hand, so 'once per second' is tested without sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def write(path: Path, text: str) -> None:
    """Write a new version and make sure its mtime differs from the last one (coarse file systems)."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text, encoding="utf-8")
    if path.stat().st_mtime_ns == before:
        os.utime(path, ns=(before + 1_000_000, before + 1_000_000))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "lessons"
    path.mkdir()
    return path


def test_a_broken_edit_keeps_the_last_good_version_then_the_fix_is_swapped_in(folder: Path) -> None:
    file = folder / "queue.yaml"
    write(file, GOOD.format(n=1))
    catalog = Catalog(folder, rescan_seconds=0)
    assert catalog.get("queue") is not None and catalog.get("queue").title == "Queue 1"  # type: ignore[union-attr]

    write(file, TYPO)
    served = catalog.get("queue")
    assert served is not None and served.title == "Queue 1"
    [status] = catalog.status()
    assert not status.up_to_date
    assert [str(p) for p in status.problems] == [
        f"{file}:6:34: step_through.steps[0].redis (step 1): unknown Redis command 'LPUHS' (did you mean LPUSH?)"
    ]

    write(file, FAILS_WHEN_RUN)
    served = catalog.get("queue")
    assert served is not None and served.title == "Queue 1"
    [status] = catalog.status()
    assert [p.message for p in status.problems] == ["expected 2, but Redis replied 1"]

    write(file, GOOD.format(n=2))
    served = catalog.get("queue")
    assert served is not None and served.title == "Queue 2"
    [status] = catalog.status()
    assert status.up_to_date and status.problems == ()


def test_a_file_that_never_passed_is_not_served(folder: Path) -> None:
    write(folder / "lies.yaml", FAILS_WHEN_RUN)
    write(folder / "typo.yaml", TYPO)
    catalog = Catalog(folder, rescan_seconds=0)
    assert catalog.get("lies") is None
    assert catalog.get("typo") is None
    assert catalog.lessons() == []
    assert {s.source: s.served_hash for s in catalog.status()} == {
        str(folder / "lies.yaml"): None,
        str(folder / "typo.yaml"): None,
    }


def test_status_gives_the_served_hash_the_problems_and_when_checked(folder: Path) -> None:
    text = GOOD.format(n=1)
    write(folder / "queue.yaml", text)
    before = datetime.now(UTC)
    catalog = Catalog(folder, rescan_seconds=0)
    [status] = catalog.status()
    assert status.served_hash == hashlib.sha256(text.encode()).hexdigest()
    assert status.current.digest == status.served_hash
    assert status.problems == ()
    assert before <= status.checked_at <= datetime.now(UTC)


def test_the_folder_is_looked_at_at_most_once_per_interval(folder: Path) -> None:
    file = folder / "queue.yaml"
    write(file, GOOD.format(n=1))
    clock = Clock()
    catalog = Catalog(folder, rescan_seconds=1.0, clock=clock)
    assert catalog.get("queue").title == "Queue 1"  # type: ignore[union-attr]
    write(file, GOOD.format(n=2))
    clock.now += 0.5
    assert catalog.get("queue").title == "Queue 1"  # type: ignore[union-attr]
    clock.now += 0.5
    assert catalog.get("queue").title == "Queue 2"  # type: ignore[union-attr]


def test_a_version_is_executed_once_however_often_it_is_requested_or_touched(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs: list[str] = []
    real = catalog_module.verify_bytes

    def counting(data: bytes, source: str, default_id: str, backend: object) -> object:
        runs.append(hashlib.sha256(data).hexdigest())
        return real(data, source, default_id, backend)  # type: ignore[arg-type]

    monkeypatch.setattr(catalog_module, "verify_bytes", counting)
    file = folder / "once.yaml"
    write(file, GOOD.format(n="once, " + folder.name))
    catalog = Catalog(folder, rescan_seconds=0)
    for _ in range(5):
        assert catalog.get("once") is not None
    stamp = file.stat().st_mtime_ns
    os.utime(file, ns=(stamp + 5_000_000, stamp + 5_000_000))  # touched, same content
    assert catalog.get("once") is not None
    assert Catalog(folder, rescan_seconds=0).get("once") is not None  # another app process-wide: cached
    assert len(runs) == 1


def test_requests_during_a_check_get_the_served_version_without_waiting(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = folder / "queue.yaml"
    write(file, GOOD.format(n="before " + folder.name))
    catalog = Catalog(folder, rescan_seconds=0)
    assert catalog.get("queue") is not None
    started, release = threading.Event(), threading.Event()
    real = catalog_module.verify_bytes

    def slow(data: bytes, source: str, default_id: str, backend: object) -> object:
        started.set()
        release.wait(timeout=10)
        return real(data, source, default_id, backend)  # type: ignore[arg-type]

    monkeypatch.setattr(catalog_module, "verify_bytes", slow)
    write(file, GOOD.format(n="after " + folder.name))
    checker = threading.Thread(target=catalog.get, args=("queue",))
    checker.start()
    try:
        assert started.wait(timeout=10)
        served = catalog.get("queue")  # would block forever if it waited for the check
        assert served is not None and served.title.startswith("Queue before")
    finally:
        release.set()
        checker.join(timeout=10)
    assert catalog.get("queue").title.startswith("Queue after")  # type: ignore[union-attr]


def test_two_files_with_one_id_serve_the_first_and_report_the_second(folder: Path) -> None:
    write(folder / "a.yaml", "id: same\n" + GOOD.format(n="A"))
    write(folder / "b.yaml", "id: same\n" + GOOD.format(n="B"))
    catalog = Catalog(folder, rescan_seconds=0)
    assert catalog.get("same").title == "Queue A"  # type: ignore[union-attr]
    statuses = {s.source: s for s in catalog.status()}
    assert [str(p) for p in statuses[str(folder / "b.yaml")].problems] == [
        f"{folder / 'b.yaml'}:1:1: id: lesson id 'same' is already used by {folder / 'a.yaml'}"
    ]


def test_a_deleted_file_is_no_longer_served(folder: Path) -> None:
    file = folder / "queue.yaml"
    write(file, GOOD.format(n=1))
    catalog = Catalog(folder, rescan_seconds=0)
    assert catalog.get("queue") is not None
    file.unlink()
    assert catalog.get("queue") is None
    assert catalog.status() == []
