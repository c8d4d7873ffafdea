"""Static files under fingerprinted addresses (tutor/assets.py): kept by browsers, never pinned stale."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from tutor.assets import KEPT_FOR, Fingerprints

STATIC_ADDRESS = re.compile(r'(?:href|src)="(/static/[^"?]+)\?v=([0-9a-f]+)"')


def _addresses(client: FlaskClient, path: str) -> list[tuple[str, str]]:
    page = client.get(path)
    assert page.status_code == 200
    return STATIC_ADDRESS.findall(page.get_data(as_text=True))


def test_every_static_address_a_page_names_carries_the_files_fingerprint(app: Flask, client: FlaskClient) -> None:
    assert app.static_folder is not None
    seen = _addresses(client, "/") + _addresses(client, "/lessons/redis-broker/step-through?step=2")
    names = {name for name, _ in seen}
    assert {"/static/style.css", "/static/vendor/htmx.min.js", "/static/stepper.js", "/static/console.js"} <= names
    page = client.get("/").get_data(as_text=True)
    assert not re.search(r'(?:href|src)="/static/[^"?]+"', page), "a static address without its fingerprint"
    for name, version in seen:
        content = Path(app.static_folder, name.removeprefix("/static/")).read_bytes()
        assert version == hashlib.sha256(content).hexdigest()[:12], name


def test_a_fingerprinted_address_is_kept_for_a_year_without_asking_again(client: FlaskClient) -> None:
    addresses = _addresses(client, "/lessons/redis-broker/step-through?step=2")
    assert len(addresses) >= 6  # two stylesheets, three scripts, the icon, the console's two files
    for name, version in addresses:
        with client.get(f"{name}?v={version}") as response:
            assert response.status_code == 200, name
            control = response.cache_control
            assert control.public and control.immutable and control.max_age == KEPT_FOR, (name, control)
            assert not control.no_cache


def test_an_address_without_the_current_fingerprint_is_asked_again_every_time(client: FlaskClient) -> None:
    """An old page's address, or none: the current file, revalidated, so a browser never keeps stale bytes."""
    for query in ("", "?v=000000000000", "?v="):
        with client.get(f"/static/style.css{query}") as response:
            assert response.status_code == 200
            assert response.cache_control.no_cache and not response.cache_control.immutable, query
            assert response.cache_control.max_age is None


def test_a_missing_static_file_is_404_and_not_kept(client: FlaskClient) -> None:
    response = client.get("/static/nope.css?v=000000000000")
    assert response.status_code == 404 and not response.cache_control.immutable


def test_an_edited_file_gets_a_new_fingerprint(tmp_path: Path) -> None:
    """Addresses see an edit once `recheck_seconds` have passed; the file's own request sees it at once."""
    style = tmp_path / "style.css"
    style.write_text("body { color: black }")
    now = [100.0]
    fingerprints = Fingerprints(tmp_path, recheck_seconds=1.0, clock=lambda: now[0])
    first = fingerprints.of("style.css")
    assert first == hashlib.sha256(b"body { color: black }").hexdigest()[:12]
    style.write_text("body { color: navy; }")
    os.utime(style, ns=(1, 1))  # another modification time, whatever the clock's resolution
    new = hashlib.sha256(b"body { color: navy; }").hexdigest()[:12]
    now[0] += 0.5
    assert fingerprints.of("style.css") == first  # looked at half a second ago: not again
    assert fingerprints.of("style.css", fresh=True) == new  # what decides whether a response is kept
    style.write_text("body { color: teal; }")
    os.utime(style, ns=(2, 2))
    now[0] += 1.0
    assert fingerprints.of("style.css") == hashlib.sha256(b"body { color: teal; }").hexdigest()[:12]


def test_a_stale_address_is_not_kept_even_before_the_page_names_the_new_one(app: Flask, client: FlaskClient) -> None:
    """The file changed a moment ago: a page may still name the old fingerprint; its bytes are not kept."""
    assert app.static_folder is not None
    fingerprints = app.extensions["tutor.assets"]
    old = fingerprints.of("style.css")
    remembered = fingerprints._known["style.css"]
    remembered.fingerprint, remembered.mtime_ns = "0123456789ab", 1  # as if remembered from an older file
    assert fingerprints.of("style.css") == "0123456789ab"  # addresses still say so for a moment
    with client.get("/static/style.css?v=0123456789ab") as response:
        assert response.status_code == 200 and not response.cache_control.immutable
    with client.get(f"/static/style.css?v={old}") as response:
        assert response.cache_control.immutable


def test_only_files_inside_the_static_folder_have_a_fingerprint(tmp_path: Path) -> None:
    (tmp_path / "static").mkdir()
    (tmp_path / "secret.txt").write_text("not served")
    (tmp_path / "static" / "sub").mkdir()
    fingerprints = Fingerprints(tmp_path / "static")
    assert fingerprints.of("../secret.txt") is None
    assert fingerprints.of("missing.css") is None
    assert fingerprints.of("sub") is None
