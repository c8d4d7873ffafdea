"""Configuration, read once: create_app()'s mapping first, then the environment, then defaults."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tutor.db import sqlite_url
from tutor.paths import data_dir

MAX_BODY_BYTES = 64 * 1024  # the largest form a page sends is a few hundred bytes


def load_config(instance_path: str, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """The settings the app runs with."""
    given = dict(overrides or {})
    instance = Path(instance_path)
    config: dict[str, Any] = {
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        "TUTOR_LESSONS": os.environ.get("TUTOR_LESSONS") or str(data_dir("lessons")),
        "TUTOR_DATABASE": os.environ.get("TUTOR_DATABASE", str(instance / "tutor.sqlite3")),
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SECURE": os.environ.get("TUTOR_COOKIE_SECURE") == "1",  # behind HTTPS
        "PERMANENT_SESSION_LIFETIME": 60 * 60 * 24 * 365,
        "MAX_CONTENT_LENGTH": MAX_BODY_BYTES,
        "MAX_FORM_MEMORY_SIZE": MAX_BODY_BYTES,
        # Migrate the progress schema on startup; 0 when a deploy step runs `tutor db upgrade` instead.
        "TUTOR_DB_UPGRADE": os.environ.get("TUTOR_DB_UPGRADE", "1") != "0",
        # Warm the process before it serves (tutor/warmup.py): about a second at start; 0 to skip (the tests).
        "TUTOR_WARM": os.environ.get("TUTOR_WARM", "1") != "0",
        # Plain step clicks answered without entering Flask (tutor/clickpath.py); 0 sends every request to Flask.
        "TUTOR_HOT_CLICKS": os.environ.get("TUTOR_HOT_CLICKS", "1") != "0",
        # PostgreSQL statements as server-side prepared statements (tutor/pgprepared.py, psycopg's own);
        # 0 behind a pooler in transaction mode that cannot keep them (README, Deploying).
        "TUTOR_PG_PREPARED": os.environ.get("TUTOR_PG_PREPARED", "1") != "0",
    }
    config.update(given)
    if "DATABASE_URL" not in given:
        # An explicit TUTOR_DATABASE in the mapping names a SQLite file and wins over the environment.
        from_env = os.environ.get("DATABASE_URL")
        config["DATABASE_URL"] = (
            from_env if from_env and "TUTOR_DATABASE" not in given else sqlite_url(config["TUTOR_DATABASE"])
        )
    if "SECRET_KEY" not in config:
        config["SECRET_KEY"] = os.environ.get("TUTOR_SECRET_KEY") or _instance_secret(instance)
    return config


def _instance_secret(instance: Path) -> str:
    """A secret kept in the instance folder (owner-only), so restarts and sibling processes share it.

    Written to a private temporary file, then linked into place: a sibling process starting at the
    same moment either wins the link or reads the whole key, never a half-written or empty file.
    """
    path = instance / "secret_key"
    try:
        key = path.read_text().strip()
        if key:
            return key
    except FileNotFoundError:
        pass
    instance.mkdir(parents=True, exist_ok=True)
    draft = instance / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(secrets.token_hex(32))
    try:
        os.link(draft, path)  # atomic, and fails if a sibling got there first: then theirs is the key
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return path.read_text().strip()
