"""Never a 500: arbitrary console lines and form fields get 200, a redirect after success, or a 4xx.

Hypothesis writes the forms (command lines built from real command names and awkward arguments,
any text at all, forged step/actor/action fields, non-ASCII CSRF values), on the embedded backend
and on a real redis-server. After every request, keys outside the learner's run are as they were:
sentinels at the names the lesson uses, another run's namespace, and (on Redis) the app's own keys.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tutor import create_app
from tutor.commands import COMMANDS
from tutor.guard import RunLimits

ROOT = Path(__file__).resolve().parent.parent
CONSOLE = "/lessons/redis-broker/step-through/console"
PAGE = "/lessons/redis-broker/step-through"
SENTINELS = {"queue": "lesson-name", "tutor:run:someone-else:queue": "another run", "msg": "variable-name"}

_WORDS = ["queue", "msg", "block", "BLOCK", "STREAMS", "0", "-1", "$", "+inf", "536870911", "1-0", "COUNT", "x", "é"]
_NAMES = sorted(COMMANDS) + ["KEYS", "FLUSHALL", "HELP", "CLIENT", "EVAL", "XREAD", "MULTI", "EXEC", "wait:"]
lines = st.one_of(
    st.text(max_size=60),
    st.builds(
        lambda name, args: " ".join([name, *args]),
        st.sampled_from(_NAMES),
        st.lists(st.one_of(st.sampled_from(_WORDS), st.text(max_size=6)), max_size=6),
    ),
)
forms = st.fixed_dictionaries(
    {
        "command": lines,
        "actor": st.one_of(st.sampled_from(["producer", "consumer"]), st.just("producer"), st.text(max_size=8)),
        "step": st.one_of(
            st.integers(0, 5).map(str), st.integers(2, 4).map(str), st.integers(0, 9), st.text(max_size=6)
        ),
        "do": st.one_of(
            st.sampled_from(["run", "crash:consumer", "restart:consumer", "wait", "back", "crash:nobody", "crash"]),
            st.text(max_size=10),
        ),
        "seconds": st.one_of(st.integers(-5, 5000).map(str), st.text(max_size=5)),
        "csrf": st.one_of(st.none(), st.text(max_size=70)),
    }
)


def _app(tmp_path: Path, url: str | None) -> Flask:
    return create_app(
        {
            "TESTING": True,
            "TUTOR_LESSONS": str(ROOT / "lessons"),
            "TUTOR_DATABASE": str(tmp_path / "tutor.sqlite3"),
            "SECRET_KEY": "test-secret",
            "REDIS_URL": url,
            "TUTOR_RUN_LIMITS": RunLimits(commands_per_minute=1_000_000),
        }
    )


def _outside(server: redis.Redis) -> dict[str, Any]:
    """Every key that is not the app's own progress data, with its value."""
    out: dict[str, Any] = {}
    for key in server.keys("*"):
        if key.startswith("tutor:app:"):
            continue
        out[key] = server.get(key) if server.type(key) == "string" else server.type(key)
    return out


@pytest.mark.parametrize("backend_kind", ["fakeredis", "redis"])
def test_arbitrary_console_forms_never_answer_500_nor_touch_keys_outside_the_run(
    tmp_path: Path, backend_kind: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("real_redis") if backend_kind == "redis" else None
    app = _app(tmp_path, url)
    server: redis.Redis = app.extensions["tutor.backend"].shared()
    server.mset(SENTINELS)
    client = app.test_client()
    html = client.get(PAGE).get_data(as_text=True)
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match
    valid = match.group(1)

    @settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(form=forms, use_valid_csrf=st.booleans(), htmx=st.booleans())
    def one_request(form: dict[str, Any], use_valid_csrf: bool, htmx: bool) -> None:
        data = {k: v for k, v in form.items() if v is not None}
        if use_valid_csrf:
            data["csrf"] = valid
        headers = {"HX-Request": "true"} if htmx else {}
        response = client.post(CONSOLE, data=data, headers=headers)
        assert response.status_code == 200 or response.status_code == 303 or 400 <= response.status_code < 500, (
            data,
            response.status_code,
        )
        assert _outside(server) == SENTINELS

    one_request()
    # The learner's run, whatever it became, still renders at every step.
    for step in range(6):
        assert client.get(f"{PAGE}?step={step}").status_code == 200
    assert _outside(server) == SENTINELS
    app.extensions["tutor.backend"].close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(token=st.text(min_size=1, max_size=200).filter(lambda t: "/" not in t and t not in (".", "..")))
def test_arbitrary_share_links_answer_a_redirect_or_a_4xx(app: Flask, token: str) -> None:
    response = app.test_client().get(f"{PAGE}/shared/{token}?step=2")
    assert response.status_code in (303, 400, 404, 413, 429)
