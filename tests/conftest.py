"""Shared fixtures: the app/client/runner trio, a real redis-server on a free loopback port, and the
progress database on SQLite and on a real PostgreSQL.

With CI=true, a test that needs a real Redis or PostgreSQL fails (never skips) when it is missing.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import jinja2
import pg_cluster
import pytest
import redis
import sqlalchemy
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from tutor import create_app

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ROOT / "lessons"

# Apps built by the tests (and the servers they start) skip the start-up warm-up (tutor/warmup.py):
# about a second per app with the curriculum. tests/test_warmup.py turns it on where it is the point.
os.environ["TUTOR_WARM"] = "0"


class _CompiledOnce(jinja2.BytecodeCache):
    """Templates compiled once for the whole run, not once per app: the suite builds hundreds of apps.

    Compiling the templates took about 0.85 s per app (cProfile, 2026-12-02). Jinja keys a compiled
    template by its file's name and checks it against a checksum of the source, so an edited template
    is compiled again. Every app of the suite sets the same Jinja options (tutor/web.py), which the
    key does not cover.
    """

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


Flask.jinja_options = {**Flask.jinja_options, "bytecode_cache": _CompiledOnce()}


def in_ci() -> bool:
    """True when missing system tools must fail tests instead of skipping them."""
    return os.environ.get("CI", "").lower() == "true"


def need(tool: str, why: str) -> str:
    """The path of a system tool; fail in CI, skip elsewhere, when it is missing."""
    path = shutil.which(tool) or (f"/usr/bin/{tool}" if Path(f"/usr/bin/{tool}").exists() else None)
    if path:
        return path
    message = f"{tool} is not installed ({why}); .ci/run installs it"
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def redis_server_url() -> Iterator[str]:
    """A real redis-server for this test session, on a free loopback port, without persistence."""
    binary = need("redis-server", "the parity and real-Redis tests need it")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 10
    try:
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on port {port}") from None
                time.sleep(0.02)  # polling for readiness with a deadline, not racing
        yield url
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def real_redis(redis_server_url: str) -> Iterator[str]:
    """The real server's URL, flushed before each test so tests never see each other's keys."""
    client = redis.Redis.from_url(redis_server_url)
    client.flushall()
    client.close()
    yield redis_server_url


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    """The site on the embedded default, with the repository's lessons and a fresh database."""
    return create_app(
        {
            "TESTING": True,
            "TUTOR_LESSONS": str(LESSONS),
            "TUTOR_DATABASE": str(tmp_path / "tutor.sqlite3"),
            "SECRET_KEY": "test-secret",
            "REDIS_URL": None,
        }
    )


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client for the app."""
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    """A CLI runner for the app."""
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A real PostgreSQL: the one .ci/run started (TUTOR_TEST_POSTGRES_URL), else a throwaway cluster."""
    given = os.environ.get("TUTOR_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    if pg_cluster.binaries() is None:
        message = "PostgreSQL is not installed (the store tests run on it too); .ci/run installs it"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    folder = tempfile.mkdtemp(prefix="tutor-pg-")  # not tmp_path: the cluster's owner must reach it
    try:
        yield pg_cluster.start(folder)
    finally:
        pg_cluster.stop(folder)


@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped after it."""
    server = sqlalchemy.make_url(postgres_server_url)
    name = f"test_{uuid.uuid4().hex[:16]}"
    admin = sqlalchemy.create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield server.set(database=name).render_as_string(hide_password=False)
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty progress database: a SQLite file, and a real PostgreSQL database."""
    if request.param == "sqlite":
        from tutor.db import sqlite_url

        return sqlite_url(tmp_path / "progress.sqlite3")
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def engine(database_url: str) -> Iterator[sqlalchemy.Engine]:
    """An engine on an empty progress database, migrated to the newest schema."""
    from tutor import db

    engine = db.make_engine(database_url)
    db.upgrade(engine)
    yield engine
    engine.dispose()
