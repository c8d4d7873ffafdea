"""The lessons folder as the site sees it: re-read when a file changes, broken files kept aside.

This caches lesson *content* (parsed files), keyed by each file's size and modification time, so an
instructor's edit shows on the next request without a restart. It holds no learner state.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from tutor import messages
from tutor.checker import lesson_files
from tutor.loader import Loaded, Problem, load_file
from tutor.model import Lesson


@dataclass(frozen=True)
class Broken:
    """A lesson file that failed to load, listed on the site with its problems."""

    source: str
    problems: tuple[Problem, ...]


class Catalog:
    """The current lessons of one folder."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self._lock = threading.Lock()
        self._files: dict[Path, tuple[tuple[int, int], Loaded]] = {}

    def _refresh(self) -> list[Loaded]:
        files = lesson_files([self.folder]) if self.folder.is_dir() else []
        with self._lock:
            current: dict[Path, tuple[tuple[int, int], Loaded]] = {}
            for file in files:
                try:
                    stat = file.stat()
                except OSError:
                    continue
                stamp = (stat.st_mtime_ns, stat.st_size)
                cached = self._files.get(file)
                if cached and cached[0] == stamp:
                    current[file] = cached
                else:
                    current[file] = (stamp, load_file(file, display=_display(file)))
            self._files = current
            return [loaded for _, loaded in current.values()]

    def state(self) -> tuple[list[Lesson], list[Broken]]:
        """Sound lessons in catalog order, and broken files with their problems."""
        lessons: list[Lesson] = []
        broken: list[Broken] = []
        seen: dict[str, str] = {}
        for loaded in self._refresh():
            lesson = loaded.lesson
            if lesson is None:
                broken.append(Broken(loaded.source, tuple(loaded.problems)))
            elif lesson.id in seen:
                problem = Problem(
                    loaded.source,
                    1,
                    1,
                    "id",
                    messages.DUPLICATE_ID.format(id=lesson.id, other=seen[lesson.id]),
                )
                broken.append(Broken(loaded.source, (problem,)))
            else:
                seen[lesson.id] = loaded.source
                lessons.append(lesson)
        lessons.sort(key=lambda item: (item.order, item.title))
        return lessons, broken

    def get(self, lesson_id: str) -> Lesson | None:
        """The sound lesson with this id, freshly re-read if its file changed."""
        lessons, _ = self.state()
        return next((lesson for lesson in lessons if lesson.id == lesson_id), None)


def _display(file: Path) -> str:
    try:
        return str(file.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(file)
