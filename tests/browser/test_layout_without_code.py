"""A step-through without a code sample: the step's panel takes the whole width of the view.

The step view puts the code sample beside the panel from 1024 px up. A walk with no sample once kept
that layout, and the panel sat in the right-hand column beside an empty one (half the screen blank
at 1440 px). The curriculum's walks all have a sample now, so this runs on a fixture lesson
without one (tests/fixtures/dead-consumer.yaml), on a site of its own.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tutor import create_app

from .conftest import serving
from .support import LiveServer, new_context

pytestmark = pytest.mark.browser

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "dead-consumer.yaml"
WIDTHS = [1440, 1024, 768, 375]

# The panel's and the view's left and right edges, and whether a code sample is drawn.
_EDGES = """() => {
  const panel = document.getElementById('now').getBoundingClientRect();
  const view = document.getElementById('now').parentElement.getBoundingClientRect();
  return {panel: [panel.left, panel.right], view: [view.left, view.right],
          sample: !!document.querySelector('#stepper .sample')};
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("no-code-lessons")
    shutil.copy(FIXTURE, folder / FIXTURE.name)
    app = create_app(
        {
            "TESTING": True,
            "TUTOR_LESSONS": str(folder),
            "TUTOR_DATABASE": str(tmp_path_factory.mktemp("no-code-db") / "tutor.sqlite3"),
            "SECRET_KEY": "browser-no-code-secret",
            "REDIS_URL": None,
        }
    )
    try:
        with serving(app, "tutor-no-code-server") as server:
            yield server
    finally:
        app.extensions["tutor.db"].dispose()


@pytest.mark.parametrize("width", WIDTHS)
def test_the_panel_takes_the_whole_width_when_there_is_no_code(
    browser: Browser, server: LiveServer, width: int
) -> None:
    context = new_context(browser, server, viewport={"width": width, "height": 900})
    try:
        page = context.new_page()
        for step in (0, 4):
            response = page.goto(f"/lessons/{FIXTURE.stem}/step-through?step={step}")
            assert response is not None and response.ok
            edges = page.evaluate(_EDGES)
            assert not edges["sample"], "the fixture lesson has no code sample"
            (left, right), (view_left, view_right) = edges["panel"], edges["view"]
            assert abs(left - view_left) <= 1 and abs(right - view_right) <= 1, (
                f"at {width} px, step {step}: the panel takes x {left:.0f}..{right:.0f} "
                f"of the view's {view_left:.0f}..{view_right:.0f}"
            )
    finally:
        context.close()
