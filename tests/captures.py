"""What the framework captures (Celery, Celery delivery, RQ) share: polling, stopping a process, an empty server."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable
from typing import Any


def wait_for(condition: Callable[[], bool], what: str, timeout: float) -> None:
    """Poll a condition until it holds; fail with `what` at the deadline. Never a bare sleep."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.02)


def stop(process: subprocess.Popen[Any] | None, grace: float = 20) -> None:
    """Terminate a worker or client process (kill it after `grace` seconds) and close its pipes."""
    if process is None:
        return
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            stream.close()


def flushall(host: str, port: int) -> None:
    """Start from an empty server, as conftest's real_redis fixture does for each test."""
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(b"FLUSHALL\r\n")
        reply = b""
        while not reply.endswith(b"\r\n"):
            chunk = sock.recv(64)
            if not chunk:
                break
            reply += chunk
    assert reply.startswith(b"+OK"), reply


# The fields of a Celery message or result that differ on every run: origin host, reply_to, date.
CELERY_VOLATILE = {("headers", "origin"), ("properties", "reply_to"), ("date_done",)}


def normal(text: str, ids: dict[str, str]) -> str:
    """A captured argument with each run's ids (task id, delivery tag) replaced by placeholders."""
    for value, placeholder in ids.items():
        text = text.replace(value, placeholder)
    return text


def masked(value: Any, path: tuple[str, ...] = ()) -> Any:
    """A JSON value with the fields that differ on every run (CELERY_VOLATILE) masked."""
    if isinstance(value, dict):
        return {k: "<varies>" if (*path, k) in CELERY_VOLATILE else masked(v, (*path, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v, path) for v in value]
    return value
