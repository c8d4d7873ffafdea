"""The lessons folder as the site sees it: the last version of each file that passed every check.

A version of a file (its exact bytes) is served only once it has passed everything `tutor check`
checks: it loads, and it executes on the embedded backend with every expectation and quiz answer
holding. While a file is broken, learners keep getting its last good version (or a 404 if it never
passed), so a typo being fixed, or a lesson whose quiz has drifted, never reaches them.

Cost per request: the folder is listed and its files stat'ed at most once per `rescan_seconds`;
a file is read and hashed only when its size or modification time changed, and checked only when
its content hash is new. A verdict is kept per content hash for the whole process (a small LRU
shared by every catalog), so each version is executed once, not once per request or per app. The
cache holds lesson content only, never learner state.

The check of a new version runs inside the request that first sees it, once; requests that arrive
meanwhile keep getting the versions already served instead of waiting.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tutor import messages
from tutor.backend import Backend
from tutor.checker import lesson_files, verify_bytes
from tutor.limits import LIMITS
from tutor.loader import Loaded, Problem, read_bounded
from tutor.model import Lesson


@dataclass(frozen=True)
class Broken:
    """A lesson file whose current version is not served, with its problems (for instructors)."""

    source: str
    problems: tuple[Problem, ...]


@dataclass(frozen=True)
class Verdict:
    """What every check said about one version (content hash) of a file."""

    digest: str
    lesson: Lesson | None  # set only when the version passed every check
    problems: tuple[Problem, ...]
    checked_at: datetime


@dataclass(frozen=True)
class FileStatus:
    """One lesson file as an instructor needs to see it: what is served, what is wrong now, since when."""

    source: str
    current: Verdict  # the version on disk now
    served: Verdict | None  # the last version that passed (None: never passed)

    @property
    def served_hash(self) -> str | None:
        """The content hash of the version learners get, or None if they get a 404."""
        return self.served.digest if self.served else None

    @property
    def problems(self) -> tuple[Problem, ...]:
        """The current version's problems, each with file:line:col (empty when it is served)."""
        return self.current.problems

    @property
    def checked_at(self) -> datetime:
        """When the current version was checked."""
        return self.current.checked_at

    @property
    def up_to_date(self) -> bool:
        """True when learners get the version on disk now."""
        return self.served is not None and self.served.digest == self.current.digest


@dataclass
class _Entry:
    stamp: tuple[int, int]
    current: Verdict
    served: Verdict | None


@dataclass(frozen=True)
class _Snapshot:
    lessons: tuple[Lesson, ...] = ()
    by_id: dict[str, Lesson] = field(default_factory=dict)
    statuses: tuple[FileStatus, ...] = ()


class Catalog:
    """The served lessons of one folder, and the status of every file in it."""

    def __init__(
        self,
        folder: str | Path,
        rescan_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.folder = Path(folder)
        self.rescan_seconds = rescan_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[Path, _Entry] = {}
        self._snapshot: _Snapshot | None = None
        self._scanned_at = 0.0

    # --- what the site and the instructor area read ----------------------------------------------------

    def lessons(self) -> list[Lesson]:
        """The served lessons, in catalog order."""
        return list(self._current().lessons)

    def get(self, lesson_id: str) -> Lesson | None:
        """The served version of the lesson with this id, or None (never passed, or no such lesson)."""
        return self._current().by_id.get(lesson_id)

    def status(self) -> list[FileStatus]:
        """Every lesson file: the version served (content hash), its current problems, when checked."""
        return list(self._current().statuses)

    def state(self) -> tuple[list[Lesson], list[Broken]]:
        """Served lessons in catalog order, and the files whose version on disk is not served."""
        snapshot = self._current()
        broken = [Broken(s.source, s.problems) for s in snapshot.statuses if s.problems]
        return list(snapshot.lessons), broken

    def refresh(self) -> None:
        """Look at the folder now, whatever the time since the last look."""
        with self._lock:
            self._scan()

    # --- keeping up with the folder --------------------------------------------------------------------

    def _current(self) -> _Snapshot:
        snapshot = self._snapshot
        if snapshot is not None and self._clock() - self._scanned_at < self.rescan_seconds:
            return snapshot
        # Only one request looks at the folder; the others serve what is already served meanwhile.
        if not self._lock.acquire(blocking=snapshot is None):
            return snapshot if snapshot is not None else _Snapshot()
        try:
            if self._snapshot is None or self._clock() - self._scanned_at >= self.rescan_seconds:
                self._scan()
            assert self._snapshot is not None
            return self._snapshot
        finally:
            self._lock.release()

    def _scan(self) -> None:
        files = lesson_files([self.folder]) if self.folder.is_dir() else []
        entries: dict[Path, _Entry] = {}
        for file in files:
            try:
                stat = file.stat()
            except OSError:
                continue
            stamp = (stat.st_mtime_ns, stat.st_size)
            entry = self._entries.get(file)
            if entry is not None and entry.stamp == stamp:
                entries[file] = entry
                continue
            verdict = _check_file(file, stat.st_size)
            served = entry.served if entry is not None else None
            if verdict.lesson is not None:
                served = verdict
            entries[file] = _Entry(stamp, verdict, served)
        self._entries = entries
        self._snapshot = _build_snapshot(entries)
        self._scanned_at = self._clock()


def _build_snapshot(entries: dict[Path, _Entry]) -> _Snapshot:
    by_id: dict[str, Lesson] = {}
    owner: dict[str, str] = {}
    statuses = []
    for file, entry in entries.items():
        current = entry.current
        served = entry.served
        lesson = served.lesson if served is not None else None
        if lesson is not None and lesson.id in by_id:
            message = messages.DUPLICATE_ID.format(id=lesson.id, other=owner[lesson.id])
            problem = Problem(_display(file), 1, 1, "id", message)
            current = Verdict(current.digest, None, (*current.problems, problem), current.checked_at)
            served = None
        elif lesson is not None:
            by_id[lesson.id] = lesson
            owner[lesson.id] = lesson.source
        statuses.append(FileStatus(_display(file), current, served))
    lessons = tuple(sorted(by_id.values(), key=lambda item: (item.order, item.title)))
    return _Snapshot(lessons, by_id, tuple(statuses))


# --- one verdict per version, for the whole process --------------------------------------------------

_VERDICTS: OrderedDict[tuple[str, str, str], Verdict] = OrderedDict()
_VERDICTS_LOCK = threading.Lock()
_VERDICTS_KEPT = 256
_BACKEND: Backend | None = None


def _check_file(file: Path, size: int) -> Verdict:
    """Read, hash and (once per content) check one file."""
    display = _display(file)
    now = datetime.now(UTC)
    if size > LIMITS.file_bytes:
        message = messages.FILE_TOO_LARGE.format(size=f"{size:,}", limit=f"{LIMITS.file_bytes:,}")
        return Verdict(f"size:{size}", None, (Problem(display, 1, 1, "", message),), now)
    try:
        data = read_bounded(file)
    except OSError as error:
        return Verdict("unreadable", None, (Problem(display, 1, 1, "", f"cannot read the file: {error}"),), now)
    return verdict_for(data, display, file.stem)


def verdict_for(data: bytes, display: str, default_id: str) -> Verdict:
    """The verdict on one version of a file's content, computed once per process."""
    digest = hashlib.sha256(data).hexdigest()
    key = (digest, display, default_id)
    with _VERDICTS_LOCK:
        known = _VERDICTS.get(key)
        if known is not None:
            _VERDICTS.move_to_end(key)
            return known
    loaded = verify_bytes(data, display, default_id, _embedded())
    verdict = _verdict(digest, loaded)
    with _VERDICTS_LOCK:
        _VERDICTS[key] = verdict
        while len(_VERDICTS) > _VERDICTS_KEPT:
            _VERDICTS.popitem(last=False)
    return verdict


def _verdict(digest: str, loaded: Loaded) -> Verdict:
    lesson = loaded.lesson if not loaded.problems else None
    return Verdict(digest, lesson, tuple(loaded.problems), datetime.now(UTC))


def _embedded() -> Backend:
    """The embedded fakeredis the checks execute on (as `tutor check` does by default)."""
    global _BACKEND
    with _VERDICTS_LOCK:
        if _BACKEND is None:
            _BACKEND = Backend()
        return _BACKEND


def _display(file: Path) -> str:
    try:
        return str(file.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(file)
