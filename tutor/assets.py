"""Static files under addresses that name their content, so a browser keeps them instead of asking again.

Why: Flask serves static files with `Cache-Control: no-cache` and an ETag, so every page a learner
opens re-asked the server for each stylesheet and script (six conditional requests beside the page
itself; measured in headless Chromium on a step-through, 2026-12-02). Here `url_for('static', ...)`
adds `?v=` and the first characters of the file's SHA-256; a response to an address whose `v` is the
file's current fingerprint may be kept for a year without asking (`immutable`). A changed file gets a
new address, so nobody keeps an old stylesheet with a new page. An address without `v`, or with an
old one, is answered as Flask always did (revalidated every time), so it can never pin stale bytes.

The fingerprint is read again when the file's size or modification time changes: an edited stylesheet
shows in development without a restart, and the cost per address is one `stat`.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from flask import Flask, Response, request

VERSION_ARG = "v"
KEPT_FOR = 365 * 24 * 3600  # seconds: a year, the longest that caches are asked to keep anything
_DIGITS = 12  # hex digits of SHA-256: collisions between two versions of one file are not a concern


class Fingerprints:
    """Each static file's fingerprint, read once per (size, modification time) of the file."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder).resolve()
        self._known: dict[str, tuple[int, int, str]] = {}  # filename: (size, mtime_ns, fingerprint)

    def of(self, filename: str) -> str | None:
        """The file's fingerprint; None when it is not a file inside the static folder."""
        path = (self.folder / filename).resolve()
        if not path.is_relative_to(self.folder):
            return None
        try:
            stat = path.stat()
        except OSError:
            return None
        known = self._known.get(filename)
        if known is not None and known[:2] == (stat.st_size, stat.st_mtime_ns):
            return known[2]
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:_DIGITS]
        except OSError:  # a folder, or gone since the stat
            return None
        self._known[filename] = (stat.st_size, stat.st_mtime_ns, digest)
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
        if asked is not None and asked == fingerprints.of(str(request.view_args.get("filename", ""))):
            response.cache_control.no_cache = None
            response.cache_control.public = True
            response.cache_control.max_age = KEPT_FOR
            response.cache_control.immutable = True
        return response
