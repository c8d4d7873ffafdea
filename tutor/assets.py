"""Static files under addresses that name their content, so a browser keeps them instead of asking again.

Why: Flask serves static files with `Cache-Control: no-cache` and an ETag, so every page a learner
opens re-asked the server for each stylesheet and script (six conditional requests beside the page
itself; measured in headless Chromium on a step-through, 2026-12-02). Here `url_for('static', ...)`
adds `?v=` and the first characters of the file's SHA-256; a response to an address whose `v` is the
file's current fingerprint may be kept for a year without asking (`immutable`). A changed file gets a
new address, so nobody keeps an old stylesheet with a new page. An address without `v`, or with an
old one, is answered as Flask always did (revalidated every time), so it can never pin stale bytes.

The fingerprint is read again when the file's size or modification time changes: an edited stylesheet
shows in development without a restart (within a second), and an address costs a dictionary lookup.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, Response, request

VERSION_ARG = "v"
KEPT_FOR = 365 * 24 * 3600  # seconds: a year, the longest that caches are asked to keep anything
_DIGITS = 12  # hex digits of SHA-256: collisions between two versions of one file are not a concern


@dataclass
class _Known:
    path: Path
    size: int
    mtime_ns: int
    fingerprint: str
    checked: float  # the clock when the file was last looked at


class Fingerprints:
    """Each static file's fingerprint, read again when the file's size or modification time changes.

    A page names about seven static files, so an address must cost next to nothing: the file is
    looked at (one `stat`) at most once per `recheck_seconds` for addresses, and on every request for
    the file itself, which is what decides whether a response may be kept.
    """

    def __init__(
        self,
        folder: str | os.PathLike[str],
        recheck_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.folder = Path(folder).resolve()
        self.recheck_seconds = recheck_seconds
        self._clock = clock
        self._known: dict[str, _Known] = {}

    def of(self, filename: str, fresh: bool = False) -> str | None:
        """The file's fingerprint; None when it is not a file inside the static folder.

        `fresh`: look at the file now, however recently it was looked at.
        """
        now = self._clock()
        known = self._known.get(filename)
        if known is not None and not fresh and now - known.checked < self.recheck_seconds:
            return known.fingerprint
        path = known.path if known is not None else (self.folder / filename).resolve()
        if not path.is_relative_to(self.folder):
            return None
        try:
            stat = path.stat()
        except OSError:
            self._known.pop(filename, None)
            return None
        if known is not None and (known.size, known.mtime_ns) == (stat.st_size, stat.st_mtime_ns):
            known.checked = now
            return known.fingerprint
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:_DIGITS]
        except OSError:  # a folder, or gone since the stat
            self._known.pop(filename, None)
            return None
        self._known[filename] = _Known(path, stat.st_size, stat.st_mtime_ns, digest, now)
        return digest


def init_app(app: Flask) -> None:
    """Fingerprint static addresses made by url_for, and let browsers keep what such an address serves."""
    if app.static_folder is None:
        return
    fingerprints = Fingerprints(app.static_folder)
    app.extensions["tutor.assets"] = fingerprints

    @app.url_defaults
    def _fingerprint(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint != "static" or VERSION_ARG in values or not isinstance(values.get("filename"), str):
            return
        version = fingerprints.of(values["filename"])
        if version is not None:
            values[VERSION_ARG] = version

    @app.after_request
    def _keep(response: Response) -> Response:
        if request.endpoint != "static" or response.status_code != 200 or request.view_args is None:
            return response
        asked = request.args.get(VERSION_ARG)
        if asked is not None and asked == fingerprints.of(str(request.view_args.get("filename", "")), fresh=True):
            response.cache_control.no_cache = None
            response.cache_control.public = True
            response.cache_control.max_age = KEPT_FOR
            response.cache_control.immutable = True
        return response
