"""Where a learner's progress lives: steps reached, answers, hints. Never in process memory.

Two stores with one interface: SQLite (the embedded default, a file that survives restarts) and
Redis (with REDIS_URL, so several app processes serve one learner consistently). The app's keys
live under `tutor:app:`, a prefix no lesson run can reach (runs live under `tutor:run:<random>:`).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import redis
from flask import Flask, current_app


@dataclass(frozen=True)
class StepProgress:
    """How far a learner got in one step-through."""

    current: int
    furthest: int
    updated: float


@dataclass(frozen=True)
class Answer:
    """One submitted answer to one quiz question."""

    learner: str
    lesson: str
    quiz: str
    question: int
    choices: tuple[int, ...]
    correct: bool
    hinted: bool
    at: float


class ProgressStore(Protocol):
    """What the site needs to remember about learners."""

    def record_step(self, learner: str, lesson: str, walkthrough: str, step: int) -> None: ...
    def steps(self, learner: str, lesson: str) -> dict[str, StepProgress]: ...
    def record_hint(self, learner: str, lesson: str, quiz: str, question: int) -> None: ...
    def hints(self, learner: str, lesson: str) -> set[tuple[str, int]]: ...
    def record_answer(self, answer: Answer) -> None: ...
    def answers(self, learner: str, lesson: str) -> list[Answer]: ...
    def all_answers(self, lesson: str | None = None) -> list[Answer]: ...
    def reset(self, learner: str, lesson: str) -> None: ...
    def lessons_of(self, learner: str) -> list[str]: ...


def init_app(app: Flask) -> None:
    """Choose the store: Redis when REDIS_URL is set, else the SQLite file."""
    if app.config.get("REDIS_URL"):
        backend = app.extensions["tutor.backend"]
        app.extensions["tutor.progress"] = RedisStore(backend.shared())
    else:
        app.extensions["tutor.progress"] = SqliteStore(app.config["TUTOR_DATABASE"])


def store() -> ProgressStore:
    """The app's progress store."""
    return current_app.extensions["tutor.progress"]  # type: ignore[no-any-return]


def export(progress: ProgressStore, learner: str) -> dict[str, Any]:
    """Everything kept about a learner, as JSON-ready data (for the download)."""
    out: dict[str, Any] = {"learner": learner, "lessons": {}}
    for lesson in progress.lessons_of(learner):
        out["lessons"][lesson] = {
            "steps": {k: asdict(v) for k, v in progress.steps(learner, lesson).items()},
            "hints": sorted([list(h) for h in progress.hints(learner, lesson)]),
            "answers": [
                {k: v for k, v in asdict(a).items() if k not in ("learner", "lesson")}
                for a in progress.answers(learner, lesson)
            ],
        }
    return out


_SCHEMA = """
CREATE TABLE IF NOT EXISTS steps (
  learner TEXT NOT NULL, lesson TEXT NOT NULL, walkthrough TEXT NOT NULL,
  current INTEGER NOT NULL, furthest INTEGER NOT NULL, updated REAL NOT NULL,
  PRIMARY KEY (learner, lesson, walkthrough));
CREATE TABLE IF NOT EXISTS hints (
  learner TEXT NOT NULL, lesson TEXT NOT NULL, quiz TEXT NOT NULL, question INTEGER NOT NULL,
  at REAL NOT NULL, PRIMARY KEY (learner, lesson, quiz, question));
CREATE TABLE IF NOT EXISTS answers (
  id INTEGER PRIMARY KEY AUTOINCREMENT, learner TEXT NOT NULL, lesson TEXT NOT NULL,
  quiz TEXT NOT NULL, question INTEGER NOT NULL, choices TEXT NOT NULL, correct INTEGER NOT NULL,
  hinted INTEGER NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS answers_by_learner ON answers (learner, lesson);
CREATE INDEX IF NOT EXISTS answers_by_lesson ON answers (lesson);
"""


class SqliteStore:
    """Progress in one SQLite file; each call opens its own connection, so threads never share one."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")  # kept in the file: readers never wait for a writer
            db.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=10)
        try:
            with db:
                yield db
        finally:
            db.close()

    def record_step(self, learner: str, lesson: str, walkthrough: str, step: int) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT INTO steps VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (learner, lesson, walkthrough) "
                "DO UPDATE SET current = excluded.current, furthest = max(furthest, excluded.furthest), "
                "updated = excluded.updated",
                (learner, lesson, walkthrough, step, step, time.time()),
            )

    def steps(self, learner: str, lesson: str) -> dict[str, StepProgress]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT walkthrough, current, furthest, updated FROM steps WHERE learner = ? AND lesson = ?",
                (learner, lesson),
            ).fetchall()
        return {w: StepProgress(c, f, u) for w, c, f, u in rows}

    def record_hint(self, learner: str, lesson: str, quiz: str, question: int) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT OR IGNORE INTO hints VALUES (?, ?, ?, ?, ?)", (learner, lesson, quiz, question, time.time())
            )

    def hints(self, learner: str, lesson: str) -> set[tuple[str, int]]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT quiz, question FROM hints WHERE learner = ? AND lesson = ?", (learner, lesson)
            ).fetchall()
        return {(q, n) for q, n in rows}

    def record_answer(self, answer: Answer) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT INTO answers (learner, lesson, quiz, question, choices, correct, hinted, at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    answer.learner,
                    answer.lesson,
                    answer.quiz,
                    answer.question,
                    json.dumps(list(answer.choices)),
                    int(answer.correct),
                    int(answer.hinted),
                    answer.at,
                ),
            )

    def _answers(self, where: str, params: tuple[str, ...]) -> list[Answer]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT learner, lesson, quiz, question, choices, correct, hinted, at FROM answers "
                f"{where} ORDER BY at, id",
                params,
            ).fetchall()
        return [Answer(r[0], r[1], r[2], r[3], tuple(json.loads(r[4])), bool(r[5]), bool(r[6]), r[7]) for r in rows]

    def answers(self, learner: str, lesson: str) -> list[Answer]:
        return self._answers("WHERE learner = ? AND lesson = ?", (learner, lesson))

    def all_answers(self, lesson: str | None = None) -> list[Answer]:
        return self._answers("WHERE lesson = ?", (lesson,)) if lesson else self._answers("", ())

    def reset(self, learner: str, lesson: str) -> None:
        with self._connect() as db:
            for table in ("steps", "hints", "answers"):
                db.execute(f"DELETE FROM {table} WHERE learner = ? AND lesson = ?", (learner, lesson))

    def lessons_of(self, learner: str) -> list[str]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT lesson FROM steps WHERE learner = ? UNION SELECT lesson FROM answers WHERE learner = ? "
                "UNION SELECT lesson FROM hints WHERE learner = ? ORDER BY 1",
                (learner, learner, learner),
            ).fetchall()
        return [r[0] for r in rows]


APP_PREFIX = "tutor:app:"


class RedisStore:
    """Progress in Redis under tutor:app:, shared by every app process on the same server."""

    def __init__(self, client: redis.Redis) -> None:
        self.r = client

    def _key(self, *parts: str) -> str:
        return APP_PREFIX + ":".join(parts)

    def _touch(self, pipe: Any, learner: str, lesson: str) -> None:
        pipe.sadd(self._key("lessons-of", learner), lesson)
        pipe.sadd(self._key("learners-of", lesson), learner)
        pipe.sadd(self._key("lessons"), lesson)

    def record_step(self, learner: str, lesson: str, walkthrough: str, step: int) -> None:
        key = self._key("steps", learner, lesson)
        field = walkthrough
        # furthest = max(old, new) must be atomic across processes: WATCH/MULTI retries on conflict.
        with self.r.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    old = pipe.hget(key, field)
                    furthest = max(step, json.loads(old)["furthest"]) if old else step
                    pipe.multi()
                    value = {"current": step, "furthest": furthest, "updated": time.time()}
                    pipe.hset(key, field, json.dumps(value))
                    self._touch(pipe, learner, lesson)
                    pipe.execute()
                    return
                except redis.WatchError:
                    continue

    def steps(self, learner: str, lesson: str) -> dict[str, StepProgress]:
        raw = self.r.hgetall(self._key("steps", learner, lesson))
        return {_text(w): StepProgress(**json.loads(v)) for w, v in raw.items()}

    def record_hint(self, learner: str, lesson: str, quiz: str, question: int) -> None:
        pipe = self.r.pipeline()
        pipe.hsetnx(self._key("hints", learner, lesson), f"{question}:{quiz}", time.time())
        self._touch(pipe, learner, lesson)
        pipe.execute()

    def hints(self, learner: str, lesson: str) -> set[tuple[str, int]]:
        fields = self.r.hkeys(self._key("hints", learner, lesson))
        out = set()
        for field in fields:
            number, quiz = _text(field).split(":", 1)
            out.add((quiz, int(number)))
        return out

    def record_answer(self, answer: Answer) -> None:
        pipe = self.r.pipeline()
        pipe.rpush(self._key("answers", answer.learner, answer.lesson), json.dumps(asdict(answer)))
        self._touch(pipe, answer.learner, answer.lesson)
        pipe.execute()

    def answers(self, learner: str, lesson: str) -> list[Answer]:
        raw = self.r.lrange(self._key("answers", learner, lesson), 0, -1)
        return [_answer(json.loads(item)) for item in raw]

    def all_answers(self, lesson: str | None = None) -> list[Answer]:
        lessons = [lesson] if lesson else sorted(map(_text, self.r.smembers(self._key("lessons"))))
        out: list[Answer] = []
        for name in lessons:
            for learner in sorted(map(_text, self.r.smembers(self._key("learners-of", name)))):
                out.extend(self.answers(learner, name))
        return sorted(out, key=lambda a: a.at)

    def reset(self, learner: str, lesson: str) -> None:
        pipe = self.r.pipeline()
        for kind in ("steps", "hints", "answers"):
            pipe.delete(self._key(kind, learner, lesson))
        pipe.srem(self._key("lessons-of", learner), lesson)
        pipe.srem(self._key("learners-of", lesson), learner)
        pipe.execute()

    def lessons_of(self, learner: str) -> list[str]:
        return sorted(map(_text, self.r.smembers(self._key("lessons-of", learner))))


def _text(value: str | bytes) -> str:
    """A reply as text (the client decodes; this keeps the types honest)."""
    return value if isinstance(value, str) else value.decode()


def _answer(data: dict[str, Any]) -> Answer:
    data["choices"] = tuple(data["choices"])
    return Answer(**data)
