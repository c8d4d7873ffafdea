"""A lesson file as it is on disk now, for the instructor's live preview (no Flask here).

The preview shows the file's current version even before it is served: rendered from the current
version when it passes every check, or when it loads but fails an execution check (a "partial"
preview, problems beside it); from the last good version while it does not load at all; not at
all when it never loaded. Its content hash is what the page polls for, so an unchanged file costs
one bounded read and one hash per poll.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tutor.catalog import FileStatus, verdict_for
from tutor.checker import lesson_files
from tutor.loader import Problem, load_bytes, read_bounded
from tutor.model import Lesson

CURRENT = "current"  # the version on disk passes every check
PARTIAL = "partial"  # it loads, but an execution check fails: shown as it runs, problems beside it
LAST_GOOD = "last-good"  # it does not load: the version learners get is shown
NOTHING = "nothing"  # it does not load and never did


@dataclass(frozen=True)
class Preview:
    """What the preview page shows for one file."""

    name: str  # the file's name in the lessons folder, as in the URL
    source: str  # the file as problems name it
    digest: str  # content hash of the bytes on disk now
    problems: tuple[Problem, ...]
    lesson: Lesson | None  # what is rendered (see `basis`)
    basis: str
    served_digest: str | None
    checked_at: datetime


def find_file(folder: str | Path, name: str) -> Path | None:
    """The lesson file with this name directly in the folder; None for anything else (no '..', no subfolder)."""
    base = Path(folder)
    if not base.is_dir():
        return None
    return next((file for file in lesson_files([base]) if file.name == name), None)


def digest_of(file: Path) -> str:
    """The content hash of the file's bytes now (as the catalog computes it)."""
    return hashlib.sha256(read_bounded(file)).hexdigest()


def status_of(file: Path, statuses: list[FileStatus]) -> FileStatus | None:
    """The catalog's status of this file, if it has one yet."""
    resolved = file.resolve()
    return next((s for s in statuses if Path(s.source).resolve() == resolved), None)


def build(file: Path, status: FileStatus | None) -> Preview:
    """The preview of the file as it is now; each version is checked once per process (the catalog's cache)."""
    data = read_bounded(file)
    source = status.source if status else str(file)
    verdict = verdict_for(data, source, file.stem)
    served = status.served if status else None
    lesson, basis = verdict.lesson, CURRENT
    if lesson is None:
        loaded = load_bytes(data, source, file.stem)
        lesson, basis = loaded.lesson, PARTIAL
    if lesson is None:
        lesson = served.lesson if served else None
        basis = LAST_GOOD if lesson else NOTHING
    return Preview(
        name=file.name,
        source=source,
        digest=verdict.digest,
        problems=verdict.problems,
        lesson=lesson,
        basis=basis,
        served_digest=served.digest if served else None,
        checked_at=verdict.checked_at.astimezone(UTC),
    )
