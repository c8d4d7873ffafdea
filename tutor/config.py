"""Configuration, read once: create_app()'s mapping first, then the environment, then defaults."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def load_config(instance_path: str, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """The settings the app runs with."""
    given = dict(overrides or {})
    instance = Path(instance_path)
    config: dict[str, Any] = {
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        "TUTOR_LESSONS": os.environ.get("TUTOR_LESSONS", "lessons"),
        "TUTOR_DATABASE": os.environ.get("TUTOR_DATABASE", str(instance / "tutor.sqlite3")),
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_HTTPONLY": True,
        "PERMANENT_SESSION_LIFETIME": 60 * 60 * 24 * 365,
    }
    config.update(given)
    if "SECRET_KEY" not in config:
        config["SECRET_KEY"] = os.environ.get("TUTOR_SECRET_KEY") or _instance_secret(instance)
    return config


def _instance_secret(instance: Path) -> str:
    """A secret kept in the instance folder, so restarts and sibling processes share it."""
    path = instance / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        instance.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(32)
        try:
            with path.open("x") as file:
                file.write(key)
        except FileExistsError:
            return path.read_text().strip()
        return key
