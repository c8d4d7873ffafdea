"""Issue 10, "Your own run": the console's run continues the lesson, survives reloads, travels in a link.

The run is a command log (tutor/ownrun.py) replayed by the engine with the learner's entries
inserted after the lesson steps they followed; these tests drive it through the site's console
and through the engine, on the embedded backend and on a real redis-server.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tutor import create_app, engine, ownrun
from tutor.backend import Backend
from tutor.catalog import Catalog

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ROOT / "lessons"
CONSOLE = "/lessons/redis-broker/step-through/console"
PAGE = "/lessons/redis-broker/step-through"


def broker_walk() -> Any:
    lesson = Catalog(str(LESSONS)).get("redis-broker")
    assert lesson is not None
    return lesson.step_through()


def csrf(client: FlaskClient, step: int = 0) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', client.get(f"{PAGE}?step={step}").get_data(as_text=True))
    assert match
    return match.group(1)


def send(client: FlaskClient, step: int, command: str = "", actor: str = "producer", **extra: str) -> tuple[int, str]:
    """A console form as htmx sends it; the status and the page text (entities decoded)."""
    data = {"csrf": csrf(client, step), "step": str(step), "actor": actor, "command": command, **extra}
    response = client.post(CONSOLE, data=data, headers={"HX-Request": "true"})
    return response.status_code, _text(response.get_data(as_text=True))


def _text(html: str) -> str:
    return html.replace("&#39;", "'").replace("&#34;", '"').replace("&gt;", ">").replace("&lt;", "<")


def page(client: FlaskClient, step: int) -> str:
    return _text(client.get(f"{PAGE}?step={step}").get_data(as_text=True))


def row(html: str, step: int) -> str:
    start = html.index(f'id="row-{step}"')
    return html[start : html.index("</tr>", start)]


def console_output(html: str) -> str:
    match = re.search(r'id="console-output"[^>]*>(.*?)</pre>', html, re.S)
    assert match, "no console output in the page"
    return match.group(1)


@pytest.fixture
def redis_app(tmp_path: Path, real_redis: str) -> Iterator[Flask]:
    app = create_app(
        {
            "TESTING": True,
            "TUTOR_LESSONS": str(LESSONS),
            "TUTOR_DATABASE": str(tmp_path / "tutor.sqlite3"),
            "SECRET_KEY": "test-secret",
            "REDIS_URL": real_redis,
        }
    )
    yield app
    app.extensions["tutor.backend"].close()


# --- continuation ------------------------------------------------------------------------------


@pytest.mark.parametrize("backend_kind", ["fakeredis", "redis"])
def test_a_push_at_step_3_is_what_step_4s_brpop_returns(backend_kind: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("real_redis") if backend_kind == "redis" else None
    backend = Backend(url)
    walk = broker_walk()
    mine = [ownrun.Entry(3, "producer", argv=("LPUSH", "queue", "world"))]
    trace = engine.run(walk, backend, "redis-broker", upto=4, inserts=ownrun.inserts(mine))
    lesson = engine.run(walk, backend, "redis-broker", upto=4)
    backend.close()
    assert lesson["steps"][3]["status"] == "blocked"
    assert trace["yours"][0]["after"] == 3 and trace["yours"][0]["reply"]["py"] == "1"
    assert trace["steps"][3]["status"] == "ok"
    assert trace["steps"][3]["reply"]["py"] == "('queue', 'world')"
    assert trace["steps"][3]["variables"]["msg"]["py"] == "('queue', 'world')"
    assert ownrun.differences(lesson, trace, 4) == [
        {"step": 4, "what": "reply", "lesson": "blocks waiting", "yours": "('queue', 'world')"}
    ]


@pytest.mark.parametrize("backend_kind", ["fakeredis", "redis"])
def test_the_console_continues_the_lesson_and_the_page_says_it_is_your_run(
    backend_kind: str, request: pytest.FixtureRequest
) -> None:
    app = request.getfixturevalue("redis_app" if backend_kind == "redis" else "app")
    client = app.test_client()
    assert "Your run" not in page(client, 3)
    status, html = send(client, 3, "LPUSH queue world")
    assert status == 200
    assert "This is your run" in html and "(integer) 1" in html
    html = page(client, 4)
    assert "This is your run" in html
    assert "('queue', 'world')" in row(html, 4) and "Blocks waiting" not in row(html, 4)
    assert (
        "Step 4, reply: the lesson's run gives <code>blocks waiting</code>, yours <code>('queue', 'world')</code>"
        in html
    )


def test_your_run_survives_a_reload_and_another_app_process_serves_it_the_same(app: Flask) -> None:
    client = app.test_client()
    assert send(client, 3, "LPUSH queue world")[0] == 200
    first = row(page(client, 4), 4)
    # A second app on the same database, as a second process would be: the cookie is all the learner brings.
    other = create_app(
        {**{k: app.config[k] for k in ("TUTOR_LESSONS", "TUTOR_DATABASE", "SECRET_KEY")}, "TESTING": True}
    )
    other_client = other.test_client()
    cookie = client.get_cookie("session")
    assert cookie is not None
    other_client.set_cookie("session", cookie.value)
    assert row(page(other_client, 4), 4) == first
    assert "('queue', 'world')" in first


def test_a_page_puts_right_a_cookie_another_tab_made_stale(client: FlaskClient) -> None:
    """Two tabs' requests at once each answer with the whole cookie: the last one can drop a run's mark.

    The cookie from before the command stands for the other tab's answer, sent last. A click
    trusts the cookie (no store read), so it shows the lesson's run; the next full page asks the
    store, shows the learner's run, and sends a cookie that lists it again, so clicks show it too.
    """
    page(client, 3)
    before = client.get_cookie("session")
    assert before is not None
    assert send(client, 3, "LPUSH queue world")[0] == 200
    assert "('queue', 'world')" in row(page(client, 4), 4)
    client.set_cookie("session", before.value)  # the other tab's answer, built from the cookie before the command
    click = client.get(f"{PAGE}?step=4", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Blocks waiting" in row(_text(click), 4)
    html = page(client, 4)
    assert "This is your run" in html and "('queue', 'world')" in row(html, 4)
    click = client.get(f"{PAGE}?step=4", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "('queue', 'world')" in row(_text(click), 4)
    # The other way round: a cookie that still lists a run the learner has left is put right by a page.
    listed = client.get_cookie("session")
    assert listed is not None
    send(client, 4, do="back")
    client.set_cookie("session", listed.value)
    assert "Blocks waiting" in row(page(client, 4), 4)
    after = client.get_cookie("session")
    assert after is not None and after.value != listed.value


def test_back_to_the_lessons_run_leaves_your_run(client: FlaskClient) -> None:
    send(client, 3, "LPUSH queue world")
    status, html = send(client, 4, do="back")
    assert status == 200 and "This is your run" not in html
    assert "Blocks waiting" in row(page(client, 4), 4)


def test_without_javascript_a_command_redirects_back_to_the_step_with_the_result_visible(client: FlaskClient) -> None:
    data = {"csrf": csrf(client, 3), "step": "3", "actor": "producer", "command": "LPUSH queue world"}
    response = client.post(CONSOLE, data=data)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"{PAGE}?step=3#console")
    html = page(client, 3)
    assert "LPUSH queue world" in html and "(integer) 1" in html


def test_without_javascript_an_error_is_a_4xx_page_with_the_message_in_the_console(client: FlaskClient) -> None:
    data = {"csrf": csrf(client, 3), "step": "3", "actor": "producer", "command": "LPUHS queue x"}
    response = client.post(CONSOLE, data=data)
    html = _text(response.get_data(as_text=True))
    assert response.status_code == 422
    assert "<html" in html and console_output(html).startswith("(error) unknown Redis command 'LPUHS'")
    assert 'value="LPUHS queue x"' in html  # the line stays in the box to fix


def test_a_redis_error_shows_in_place_and_the_run_goes_on(client: FlaskClient) -> None:
    assert send(client, 1, "GET queue")[0] == 200
    html = page(client, 1)
    assert "(error) WRONGTYPE Operation against a key holding the wrong kind of value" in html
    status, html = send(client, 1, "LLEN queue")
    assert status == 200 and "(integer) 1" in html


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("KEYS *", "'KEYS' is not available in lessons"),
        ('LPUSH queue "open', "unbalanced quotes"),
        ("", "type a Redis command"),
    ],
)
def test_a_rejected_line_is_a_4xx_shown_where_it_was_typed(client: FlaskClient, line: str, message: str) -> None:
    status, html = send(client, 2, line)
    assert status == 422
    assert console_output(html).startswith(f"(error) {message}")


@pytest.mark.parametrize(
    ("command", "fields", "status", "message"),
    [
        ("FLUSHALL", {}, 422, "'FLUSHALL' is not available in lessons"),
        ("LPUHS q x", {}, 422, "unknown Redis command 'LPUHS' (did you mean LPUSH?)"),
        ("BRPOP q 0x1", {}, 422, "needs its timeout as a plain number"),
        ("GET " + "x" * 600, {}, 422, "the command is too long"),
        ("GET x", {"actor": "mallory"}, 400, "choose one of this lesson's actors"),
        ("GET x", {"step": "99"}, 400, "step must be a whole number between 0 and 5"),
        ("GET x", {"step": "²"}, 400, "step must be a whole number between 0 and 5"),
        ("GET x", {"csrf": "forged"}, 400, "did not come from this site"),
        ("GET x", {"do": "explode"}, 422, "unknown console action"),
    ],
)
def test_bad_input_is_a_4xx_with_its_message_with_or_without_javascript(
    client: FlaskClient, command: str, fields: dict[str, str], status: int, message: str
) -> None:
    data = {"csrf": csrf(client, 1), "step": "1", "actor": "producer", "command": command, **fields}
    for headers in ({"HX-Request": "true"}, {}):
        response = client.post(CONSOLE, data=data, headers=headers)
        assert response.status_code == status
        output = console_output(_text(response.get_data(as_text=True)))
        assert output.startswith("(error) ") and message in output
    assert "This is your run" not in page(client, 1)  # nothing refused was kept


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        ("XREAD STREAMS queue 0-0", "(error) WRONGTYPE Operation against a key holding the wrong kind of value"),
        ("XREAD STREAMS block 0", "(nil)"),  # a stream named block: no BLOCK option, so it never waits
    ],
)
def test_a_stream_read_the_old_try_endpoint_crashed_on_is_answered_as_redis_answers(
    client: FlaskClient, command: str, shown: str
) -> None:
    status, html = send(client, 1, command)
    assert status == 200
    assert shown in html.split('id="console-log"')[1]


def test_help_lists_the_allowed_commands_and_help_lpush_gives_its_syntax(client: FlaskClient) -> None:
    status, html = send(client, 0, "HELP")
    listed = console_output(html).split()
    assert status == 200 and "BRPOP" in listed and "HKEYS" in listed and "KEYS" not in listed
    status, html = send(client, 0, "help lpush")
    assert status == 200 and console_output(html) == "LPUSH key element [element ...]"
    status, html = send(client, 0, "HELP KEYS")
    assert status == 200 and "no help for 'KEYS'" in console_output(html)


def test_a_blocking_command_you_type_blocks_and_a_push_wakes_it(client: FlaskClient) -> None:
    status, html = send(client, 2, "BRPOP queue 0", actor="consumer")
    assert status == 200 and "(blocks: consumer waits for data on queue)" in html
    status, html = send(client, 2, "RPUSH queue x", actor="producer")
    assert status == 200 and "consumer (waiting since step 2) receives <code>('queue', 'x')</code>" in html


def test_a_blocked_actor_cannot_type_and_the_message_has_no_authoring_words(client: FlaskClient) -> None:
    send(client, 2, "BRPOP queue 0", actor="consumer")
    status, html = send(client, 2, "LLEN queue", actor="consumer")
    assert status == 409
    assert "consumer is waiting for its BRPOP queue 0" in console_output(html)
    assert "wait:" not in console_output(html)


def test_letting_time_pass_is_a_button_that_times_out_a_waiting_command(client: FlaskClient) -> None:
    send(client, 2, "BRPOP queue 5", actor="consumer")
    status, html = send(client, 2, do="wait", seconds="5")
    assert status == 200
    assert "5 seconds pass" in html and "consumer's <code>BRPOP queue 5</code> timed out" in html


def test_a_share_link_opens_the_same_run_for_someone_else(app: Flask) -> None:
    alice = app.test_client()
    send(alice, 3, "LPUSH queue world")
    link = re.search(r'id="console-share" href="([^"]+)"', page(alice, 4))
    assert link
    bob = app.test_client()
    response = bob.get(_text(link.group(1)).replace("http://localhost", ""))
    assert response.status_code == 303
    html = page(bob, 4)
    assert "This is your run" in html and "('queue', 'world')" in row(html, 4)


def test_a_damaged_or_forged_share_link_is_a_400_with_a_message(client: FlaskClient) -> None:
    forged = ownrun.to_token([ownrun.Entry(1, "producer", argv=("FLUSHALL",))])
    for token in ("not-a-run", forged, "é" * 10):
        response = client.get(f"{PAGE}/shared/{token}")
        assert response.status_code == 400
        html = _text(response.get_data(as_text=True))
        assert console_output(html).startswith("(error) ")


def test_the_log_round_trips_and_every_load_is_validated_again() -> None:
    walk = broker_walk()
    entries = [
        ownrun.Entry(3, "producer", argv=("LPUSH", "queue", 'wörld "x"')),
        ownrun.Entry(4, "consumer", "crash"),
        ownrun.Entry(4, "consumer", "restart"),
        ownrun.Entry(4, "producer", "wait", seconds=5),
    ]
    assert ownrun.loads(ownrun.dumps(entries), walk) == entries
    assert ownrun.from_token(ownrun.to_token(entries), walk) == entries
    for bad in (
        '[[1,"nobody","run",["PING"]]]',
        '[[99,"producer","run",["PING"]]]',
        '[[1,"producer","run",["KEYS","*"]]]',
        '[[1,"producer","wait",0]]',
        '{"a":1}',
        '[[true,"producer","crash",[]]]',
    ):
        with pytest.raises(ownrun.RunError):
            ownrun.loads(bad, walk)


def test_a_share_token_that_inflates_to_a_huge_log_is_refused_without_inflating_it() -> None:
    import base64
    import zlib

    bomb = base64.urlsafe_b64encode(zlib.compress(b"[" + b" " * 10_000_000 + b"]", 9)).decode().rstrip("=")
    assert len(bomb) < ownrun.MAX_TOKEN_CHARS
    with pytest.raises(ownrun.RunError):
        ownrun.from_token(bomb, broker_walk())


def test_a_non_ascii_csrf_value_is_a_400_not_a_500(client: FlaskClient) -> None:
    client.get(PAGE)
    data = {"csrf": "jeton-é-✓", "step": "1", "actor": "producer", "command": "PING"}
    response = client.post(CONSOLE, data=data, headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert "this form has expired" in _text(response.get_data(as_text=True))


def test_crashing_the_waiting_consumer_leaves_step_5s_push_in_the_queue(client: FlaskClient) -> None:
    status, html = send(client, 4, do="crash:consumer")
    assert status == 200
    assert "consumer's process is killed" in html and "Restart consumer" in html
    html = page(client, 5)
    assert "['world']" in row(html, 5) and "unblocked" not in row(html, 5)
    assert "Step 5, 'queue': the lesson's run gives <code>(none)</code>, yours <code>['world']</code>" in html
    status, html = send(client, 5, do="restart:consumer")
    assert status == 200 and "consumer starts again with a new connection" in html
    status, html = send(client, 5, "BRPOP queue 0", actor="consumer")
    assert status == 200 and "('queue', 'world')" in html.split('id="console-log"')[1]


def test_crashing_an_actor_twice_is_a_409_in_place(client: FlaskClient) -> None:
    assert send(client, 1, do="crash:consumer")[0] == 200
    status, html = send(client, 1, do="crash:consumer")
    assert status == 409 and "consumer's process was killed" in console_output(html)
    status, html = send(client, 1, "LLEN queue", actor="consumer")
    assert status == 409 and "restart consumer first" in console_output(html)


def test_a_saved_run_the_engine_cannot_continue_shows_the_lessons_run_with_a_message(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = app.test_client()
    assert send(client, 3, "LPUSH queue world")[0] == 200
    real_run = engine.run

    def failing_for_runs_with_inserts(*args: Any, **kwargs: Any) -> dict[str, Any]:
        if kwargs.get("inserts"):
            raise AttributeError("'list' object has no attribute 'irange'")
        return real_run(*args, **kwargs)

    monkeypatch.setattr(engine, "run", failing_for_runs_with_inserts)
    response = client.get(f"{PAGE}?step=4")
    html = _text(response.get_data(as_text=True))
    assert response.status_code == 200
    assert "the lesson cannot go on from your run at this step" in console_output(html)
    assert "irange" not in html and "Blocks waiting" in row(html, 4)


def test_every_allowed_command_has_one_line_of_help() -> None:
    from tutor.cli_help import SYNTAX, help_text
    from tutor.commands import COMMANDS

    assert set(SYNTAX) == set(COMMANDS)
    for name in COMMANDS:
        text = help_text(["HELP", name.lower()])
        assert text.split()[0] == name and "\n" not in text


@pytest.mark.real_redis
def test_console_commands_cannot_reach_the_apps_own_keys(redis_app: Flask, real_redis: str) -> None:
    import redis

    client = redis_app.test_client()
    client.get(f"{PAGE}?step=1")  # progress goes to the SQL store: Redis holds runs, and here keys outside them
    server = redis.Redis.from_url(real_redis, decode_responses=True)
    try:
        # Sentinels: a key of the app's own, and a key of another learner's run that is executing now.
        theirs = f"{engine.NAMESPACE}{'ab' * 12}:queue"
        server.set("tutor:app:outside-every-run", "kept")
        server.rpush(theirs, "their-job")
        before = {key: (server.type(key), server.dump(key)) for key in server.keys("*")}
        assert set(before) == {"tutor:app:outside-every-run", theirs}
        for typed, name in enumerate(sorted(before), 1):
            for command in (f"DEL {name}", f"SET {name} owned", f"RENAME {name} stolen"):
                assert send(client, 1, command)[0] == 200
            status, html = send(client, 1, f"TYPE {name}")  # in this run, no such key
            assert status == 200 and html.split('id="console-log"')[1].count(">none</pre>") == typed
        after = {key: (server.type(key), server.dump(key)) for key in server.keys("*")}
        assert after == before  # untouched, and no run keys of this learner left behind
    finally:
        server.close()
