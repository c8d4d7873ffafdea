"""bench/load.py's checks of what the server sent: the "no wrong page" verdict is only as good as they are."""

from __future__ import annotations

import gzip
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tutor import create_app

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.fixture(scope="module")
def load() -> ModuleType:
    sys.path.insert(0, str(BENCH))  # load.py imports its neighbour servers.py
    try:
        spec = importlib.util.spec_from_file_location("bench_load", BENCH / "load.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # its dataclasses look their module up while being made
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH))


@pytest.fixture(scope="module")
def clicks(load: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> dict[int, bytes]:
    """The load's step-through, steps 1 to 3, as gzipped htmx clicks of one learner."""
    folder = tmp_path_factory.mktemp("bench")
    app = create_app({"TESTING": True, "SECRET_KEY": "s", "TUTOR_DATABASE": str(folder / "p.sqlite3")})
    client = app.test_client()
    plan = load.plan()
    assert client.get(f"{plan.base}?step=0").status_code == 200
    headers = {"HX-Request": "true", "Accept-Encoding": "gzip"}
    sent = {step: client.get(f"{plan.base}?step={step}", headers=headers) for step in (1, 2, 3)}
    assert all(r.status_code == 200 and r.headers["Content-Encoding"] == "gzip" for r in sent.values())
    return {step: r.data for step, r in sent.items()}


def test_a_click_is_right_only_for_its_own_step(load: ModuleType, clicks: dict[int, bytes]) -> None:
    count = load.plan().count
    assert load._click_ok(clicks[2], True, 2, count)
    assert load._click_ok(clicks[2], True, 2, count)  # the remembered verdict, the same
    assert not load._click_ok(clicks[3], True, 2, count)  # shows row 3: a step too far
    assert not load._click_ok(clicks[1], True, 2, count)  # lacks row 2
    assert not load._click_ok(clicks[2], True, 3, count)  # the same bytes asked as another step
    plain = gzip.decompress(clicks[2])
    assert load._click_ok(plain, False, 2, count) and not load._click_ok(plain, False, 1, count)


def test_a_remembered_verdict_is_for_those_exact_bytes(load: ModuleType, clicks: dict[int, bytes]) -> None:
    count = load.plan().count
    assert load._click_ok(clicks[2], True, 2, count)
    broken = gzip.compress(gzip.decompress(clicks[2]).replace(b"Step 2 of", b"Step 9 of"))
    assert not load._click_ok(broken, True, 2, count)
