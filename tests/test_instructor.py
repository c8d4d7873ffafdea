"""The instructor area: no page without a login, the login's rate limit and CSRF, accounts made by
`tutor instructor`, every lesson file's status, and the live preview's page and poll.

On SQLite and on a real PostgreSQL (the store's `database_url` fixture).
"""

from __future__ import annotations

import html
import io
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import func, select

from tutor import accounts, create_app, db, messages
from tutor.cli import main
from tutor.progress import SqlStore

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery staple"

GOOD = """\
title: Queue basics
step_through:
  actors: [producer, worker]
  watch: [jobs]
  steps:
    - actor: producer
      action: The producer queues a job
      redis: LPUSH jobs send-mail
    - actor: worker
      action: The worker takes the job
      redis: RPOP jobs
"""

# A typo in the command: the file loads as YAML but fails a check.
TYPO = GOOD.replace("LPUSH jobs send-mail", "LPUHS jobs send-mail")
# An execution check fails: the expectation is wrong, but the file loads and runs.
WRONG_EXPECT = GOOD.replace("redis: RPOP jobs", "redis: RPOP jobs\n      expect: nothing")
# Not even YAML.
NOT_YAML = "title: [unclosed\n"


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Scrypt at a small cost, so the many logins here stay fast; one test checks the real default."""
    monkeypatch.setattr(accounts, "HASH_METHOD", "scrypt:1024:8:1")
    accounts._decoy.cache_clear()


@pytest.fixture
def lessons(tmp_path: Path) -> Path:
    folder = tmp_path / "lessons"
    folder.mkdir()
    (folder / "queue.yaml").write_text(GOOD, encoding="utf-8")
    return folder


def make_app(lessons: Path, database_url: str, **extra: object) -> Flask:
    return create_app(
        {
            "TESTING": True,
            "TUTOR_LESSONS": str(lessons),
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret",
            "REDIS_URL": None,
            "TUTOR_RESCAN_SECONDS": 0,
            **extra,
        }
    )


@pytest.fixture
def app(lessons: Path, database_url: str) -> Iterator[Flask]:
    app = make_app(lessons, database_url)
    accounts.add(_store(app), "ada", PASSWORD)
    yield app
    app.extensions["tutor.db"].dispose()


def _store(app: Flask) -> SqlStore:
    return SqlStore(app.extensions["tutor.db"], keep=False)


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]*)"', page)
    assert match, "no csrf field in the form"
    return html.unescape(match.group(1))


def log_in(client: FlaskClient, name: str = "ada", password: str = PASSWORD) -> tuple[int, str]:
    token = csrf_of(client.get("/instructor/login").get_data(as_text=True))
    response = client.post("/instructor/login", data={"csrf": token, "name": name, "password": password})
    return response.status_code, response.get_data(as_text=True)


@pytest.fixture
def logged_in(app: Flask) -> FlaskClient:
    client = app.test_client()
    assert log_in(client)[0] == 303
    return client


# --- no page without a login ------------------------------------------------------------------------

PAGES = [
    "/instructor",
    "/instructor/preview/queue.yaml",
    "/instructor/preview/queue.yaml/main",
    "/instructor/poll/queue.yaml?seen=x",
    "/instructor/results",
    "/instructor/results/queue",
    "/instructor/csv",
    "/instructor/csv/queue",
]


def test_every_get_route_of_the_area_is_in_the_list_checked(app: Flask) -> None:
    rules = {r.rule for r in app.url_map.iter_rules() if r.endpoint.startswith("instructor.") and "GET" in r.methods}
    checked = {re.sub(r"\?.*", "", p) for p in PAGES} | {"/instructor/login"}
    as_rules = {
        rule
        for rule in rules
        if re.sub(r"<slug>", "main", re.sub(r"<lesson_id>", "queue", re.sub(r"<name>", "queue.yaml", rule))) in checked
    }
    assert as_rules == rules


@pytest.mark.parametrize("path", PAGES)
def test_no_instructor_page_opens_without_a_login(app: Flask, path: str) -> None:
    client = app.test_client()
    response = client.get(path)
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/instructor/login?next=")
    htmx = client.get(path, headers={"HX-Request": "true"})
    assert htmx.status_code == 401
    assert htmx.headers["HX-Redirect"].startswith("/instructor/login")
    assert htmx.get_data(as_text=True) == messages.INSTRUCTOR_LOGIN_NEEDED
    scripted = client.get(path, headers={"Accept": "application/json"})
    assert scripted.status_code == 401


def test_no_instructor_form_is_accepted_without_a_login(app: Flask) -> None:
    forms = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("instructor.")
        and "POST" in (rule.methods or ())
        and rule.endpoint != "instructor.login"
    ]
    assert forms == ["/instructor/logout"]
    for path in forms:
        response = app.test_client().post(path, data={"csrf": "x"})
        assert response.status_code == 303
        assert response.headers["Location"].startswith("/instructor/login")


def test_after_login_the_page_asked_for_opens(app: Flask) -> None:
    client = app.test_client()
    login_page = client.get("/instructor/results").headers["Location"]
    token = csrf_of(client.get(login_page).get_data(as_text=True))
    response = client.post(
        "/instructor/login", data={"csrf": token, "name": "Ada", "password": PASSWORD, "next": "/instructor/results"}
    )
    assert response.status_code == 303 and response.headers["Location"] == "/instructor/results"
    page = client.get("/instructor/results")
    assert page.status_code == 200 and "Results: All lessons" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/x", "/lessons/", "/\\evil.example", "/instructor\r\nSet-Cookie: a=b"],
)
def test_login_never_redirects_outside_the_area(app: Flask, target: str) -> None:
    client = app.test_client()
    token = csrf_of(client.get("/instructor/login").get_data(as_text=True))
    response = client.post(
        "/instructor/login", data={"csrf": token, "name": "ada", "password": PASSWORD, "next": target}
    )
    assert response.headers["Location"] == "/instructor"


def test_logout_ends_the_session_and_needs_its_token(logged_in: FlaskClient) -> None:
    page = logged_in.get("/instructor").get_data(as_text=True)
    assert logged_in.post("/instructor/logout", data={}).status_code == 400
    assert logged_in.get("/instructor").status_code == 200
    response = logged_in.post("/instructor/logout", data={"csrf": csrf_of(page)})
    assert response.status_code == 303
    assert messages.INSTRUCTOR_LOGGED_OUT in logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert logged_in.get("/instructor").status_code == 303
    # the old page's token died with the session: it cannot log anyone out or in again
    assert logged_in.post("/instructor/logout", data={"csrf": csrf_of(page)}).status_code == 303


def test_removing_an_account_ends_its_sessions(app: Flask, logged_in: FlaskClient) -> None:
    assert logged_in.get("/instructor").status_code == 200
    assert accounts.remove(_store(app), "ada")
    assert logged_in.get("/instructor").status_code == 303
    accounts.add(_store(app), "ada", PASSWORD)  # a new account of the same name is not the old session's
    assert logged_in.get("/instructor").status_code == 303


def test_a_login_expires_after_the_configured_hours(app: Flask, logged_in: FlaskClient) -> None:
    with logged_in.session_transaction() as session:
        session["instructor_since"] -= 13 * 3600
    assert logged_in.get("/instructor").status_code == 303


# --- wrong passwords, the rate limit, CSRF --------------------------------------------------------------


def test_a_wrong_password_and_an_unknown_name_get_the_same_answer(app: Flask) -> None:
    client = app.test_client()
    code_wrong, wrong = log_in(client, "ada", "not the password")
    code_unknown, unknown = log_in(client, "nobody", PASSWORD)
    assert code_wrong == code_unknown == 401
    assert messages.INSTRUCTOR_LOGIN_FAILED in wrong and messages.INSTRUCTOR_LOGIN_FAILED in unknown
    # the token and the name typed differ, nothing else
    strip = re.compile(r'name="csrf" value="[^"]*"|value="(ada|nobody)"')
    assert strip.sub("", wrong) == strip.sub("", unknown)
    assert client.get("/instructor").status_code == 303


def _failures(app: Flask) -> int:
    with app.extensions["tutor.db"].connect() as connection:
        return int(connection.execute(select(func.count()).select_from(accounts.login_failures)).scalar_one())


def test_five_failures_lock_the_account_even_for_the_right_password_in_every_process(
    app: Flask, lessons: Path, database_url: str
) -> None:
    client = app.test_client()
    for _ in range(5):
        assert log_in(client, "ada", "guess")[0] == 401
    assert _failures(app) == 5  # the count is in the SQL store
    code, page = log_in(client, "ada", PASSWORD)
    assert code == 429
    assert "Too many failed logins for this account or from this address; try again in 5 minutes." in page
    assert client.get("/instructor").status_code == 303
    # another process (a second app on the same database, nothing shared in memory) sees the same count
    other = make_app(lessons, database_url)
    try:
        assert log_in(other.test_client(), "ada", PASSWORD)[0] == 429
    finally:
        other.extensions["tutor.db"].dispose()


def test_five_failures_from_one_address_lock_that_address_for_every_name(app: Flask) -> None:
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    for name in ("a1", "a2", "a3", "a4", "a5"):
        assert log_in(attacker, name, "guess")[0] == 401
    assert log_in(attacker, "ada", PASSWORD)[0] == 429
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    assert log_in(elsewhere, "ada", PASSWORD)[0] == 303


def test_behind_a_trusted_proxy_the_forwarded_address_is_counted(lessons: Path, database_url: str) -> None:
    app = make_app(lessons, database_url, TUTOR_PROXY_HOPS=1)
    try:
        accounts.add(_store(app), "ada", PASSWORD)
        guesser, instructor = app.test_client(), app.test_client()
        for client, address in ((guesser, "203.0.113.9"), (instructor, "198.51.100.7")):
            client.environ_base.update(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=address)
        for name in ("a1", "a2", "a3", "a4", "a5"):
            assert log_in(guesser, name, "guess")[0] == 401
        assert log_in(guesser, "ada", PASSWORD)[0] == 429
        assert log_in(instructor, "ada", PASSWORD)[0] == 303  # the proxy's own address is not what counts
    finally:
        app.extensions["tutor.db"].dispose()


def test_without_trusted_proxies_a_forwarded_address_changes_nothing(app: Flask) -> None:
    for index in range(5):
        client = app.test_client()
        client.environ_base.update(REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR=f"10.0.0.{index}")
        assert log_in(client, f"a{index}", "guess")[0] == 401
    client = app.test_client()
    client.environ_base.update(REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="10.0.0.99")
    assert log_in(client, "ada", PASSWORD)[0] == 429


def test_the_limit_lifts_when_failures_leave_the_window_and_a_success_clears_the_account(app: Flask) -> None:
    store, clock = _store(app), [1000.0]
    throttle = accounts.Throttle(failures=5, window=300)

    def attempt(password: str) -> accounts.Outcome:
        return accounts.login(store, "ada", password, "192.0.2.1", throttle, now=lambda: clock[0])

    for second in range(5):
        clock[0] = 1000.0 + second
        assert attempt("guess") == accounts.Outcome()
    clock[0] = 1010.0
    refused = attempt(PASSWORD)
    assert refused.account is None and refused.retry_after == pytest.approx(290)  # when the oldest of the five leaves
    clock[0] = 1301.0  # the first failure has left the window: four remain
    assert attempt(PASSWORD).account is not None
    assert accounts.failures(store, name="ada") == 0


def test_the_login_form_refuses_a_missing_or_forged_token_with_400(app: Flask) -> None:
    client = app.test_client()
    client.get("/instructor/login")
    for token in (None, "", "0" * 64, "é" * 10):
        data = {"name": "ada", "password": PASSWORD} | ({"csrf": token} if token is not None else {})
        response = client.post("/instructor/login", data=data)
        assert response.status_code == 400
        assert messages.INSTRUCTOR_BAD_CSRF in response.get_data(as_text=True)
    assert _failures(app) == 0  # refused before any password was looked at


def test_a_token_from_another_browser_is_refused(app: Flask) -> None:
    theirs = csrf_of(app.test_client().get("/instructor/login").get_data(as_text=True))
    mine = app.test_client()
    mine.get("/instructor/login")
    response = mine.post("/instructor/login", data={"csrf": theirs, "name": "ada", "password": PASSWORD})
    assert response.status_code == 400


def test_the_token_changes_at_login(app: Flask) -> None:
    client = app.test_client()
    before = csrf_of(client.get("/instructor/login").get_data(as_text=True))
    client.post("/instructor/login", data={"csrf": before, "name": "ada", "password": PASSWORD})
    after = csrf_of(client.get("/instructor").get_data(as_text=True))
    assert after != before
    assert client.post("/instructor/logout", data={"csrf": before}).status_code == 400


# --- accounts made by `tutor instructor` --------------------------------------------------------------


def test_tutor_instructor_add_list_remove(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["instructor", "add", "Grace", "--password-stdin", "--database-url", database_url]) == 0
    assert capsys.readouterr().out == "added grace\n"
    assert main(["instructor", "list", "--database-url", database_url]) == 0
    assert capsys.readouterr().out.startswith("grace\t(since ")
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["instructor", "add", "grace", "--password-stdin", "--database-url", database_url]) == 1
    assert messages.INSTRUCTOR_EXISTS.format(name="grace") in capsys.readouterr().err
    assert main(["instructor", "remove", "grace", "--database-url", database_url]) == 0
    assert main(["instructor", "remove", "grace", "--database-url", database_url]) == 1
    assert messages.INSTRUCTOR_NO_SUCH.format(name="grace") in capsys.readouterr().err


def test_tutor_instructor_add_asks_twice_and_refuses_a_mismatch(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = iter([PASSWORD, PASSWORD + "!"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert main(["instructor", "add", "grace", "--database-url", database_url]) == 1
    assert messages.INSTRUCTOR_PASSWORDS_DIFFER in capsys.readouterr().err
    answers = iter([PASSWORD, PASSWORD])
    assert main(["instructor", "add", "grace", "--database-url", database_url]) == 0


@pytest.mark.parametrize(
    ("name", "password", "message"),
    [
        ("ok", "short", messages.INSTRUCTOR_SHORT_PASSWORD.format(minimum=accounts.MIN_PASSWORD)),
        ("ok", "x" * 1025, messages.INSTRUCTOR_LONG_PASSWORD.format(maximum=accounts.MAX_PASSWORD)),
        ("no spaces", PASSWORD, messages.INSTRUCTOR_BAD_NAME),
        ("", PASSWORD, messages.INSTRUCTOR_BAD_NAME),
    ],
)
def test_account_rules(app: Flask, name: str, password: str, message: str) -> None:
    with pytest.raises(accounts.AccountError) as error:
        accounts.add(_store(app), name, password)
    assert str(error.value) == message


def test_passwords_are_stored_as_scrypt_hashes_with_werkzeugs_default_cost(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(accounts, "HASH_METHOD", "scrypt")
    accounts.add(_store(app), "grace", PASSWORD)
    with app.extensions["tutor.db"].connect() as connection:
        stored = connection.execute(
            select(accounts.instructors.c.password_hash).where(accounts.instructors.c.name == "grace")
        ).scalar_one()
    assert stored.startswith("scrypt:32768:8:1$") and PASSWORD not in stored
    assert accounts.login(_store(app), "grace", PASSWORD, "192.0.2.1").account is not None


def test_migration_0002_adds_the_account_tables_to_a_database_with_progress(database_url: str) -> None:
    engine = db.make_engine(database_url)
    try:
        assert db.upgrade(engine, "0001") == "0001"
        SqlStore(engine, keep=False).record_step("learner-" + "x" * 32, "queue", "main", 2)
        assert db.upgrade(engine, "0002") == "0002"  # (0003, own runs, follows it)
        store = SqlStore(engine, keep=False)
        with engine.connect() as connection:  # the table itself: the store reads tables of later revisions too
            kept = connection.execute(select(db.steps.c.walkthrough, db.steps.c.furthest)).all()
        assert [tuple(row) for row in kept] == [("main", 2)]  # progress kept
        accounts.add(store, "ada", PASSWORD)
        assert [a.name for a in accounts.listed(store)] == ["ada"]
    finally:
        engine.dispose()


# --- the status of every lesson file -----------------------------------------------------------------


def test_the_status_page_lists_a_broken_files_problems_with_file_line_col(
    logged_in: FlaskClient, lessons: Path
) -> None:
    (lessons / "broken.yaml").write_text(TYPO, encoding="utf-8")
    page = logged_in.get("/instructor").get_data(as_text=True)
    problem = (
        f"{lessons / 'broken.yaml'}:8:7: step_through.steps[0].redis (step 1): "
        "unknown Redis command 'LPUHS' (did you mean LPUSH?)"
    )
    assert str(escape(problem)) in page
    row = page[page.index('<code class="file">broken.yaml</code>') :].split("</tr>")[0]
    assert "Not served" in row and "1 problem" in row
    assert 'href="/instructor/preview/broken.yaml"' in row
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d', row)


def test_the_status_page_says_an_older_version_is_served_while_the_new_one_is_broken(
    logged_in: FlaskClient, lessons: Path
) -> None:
    page = logged_in.get("/instructor").get_data(as_text=True)
    assert "This version" in page and "Not served" not in page
    (lessons / "queue.yaml").write_text(TYPO, encoding="utf-8")
    page = logged_in.get("/instructor").get_data(as_text=True)
    assert "An older version" in page and "unknown Redis command &#39;LPUHS&#39;" in page
    assert 'href="/instructor/results/queue"' in page  # the served version still has results


# --- the live preview ----------------------------------------------------------------------------------


def test_the_preview_shows_the_learners_step_view_of_the_file_now(logged_in: FlaskClient, lessons: Path) -> None:
    page = logged_in.get("/instructor/preview/queue.yaml").get_data(as_text=True)
    assert 'id="stepper"' in page and "Step 2 of 2" in page
    assert "The producer queues a job" in page and "The worker takes the job" in page
    assert "No problems" in page and "this version: it passes every check" in page
    (lessons / "queue.yaml").write_text(GOOD.replace("takes the job", "takes the newest job"), encoding="utf-8")
    page = logged_in.get("/instructor/preview/queue.yaml").get_data(as_text=True)
    assert "The worker takes the newest job" in page  # before the site has served it


def test_stepping_in_the_preview_returns_the_learner_fragment(logged_in: FlaskClient) -> None:
    response = logged_in.get("/instructor/preview/queue.yaml?step=1", headers={"HX-Request": "true"})
    fragment = response.get_data(as_text=True)
    assert fragment.startswith('<div id="stepper"') and "Step 1 of 2" in fragment
    assert 'href="/instructor/preview/queue.yaml?step=2"' in fragment
    assert "HX-Request" in response.headers["Vary"]


def test_a_file_that_fails_a_check_is_previewed_as_it_runs_with_its_problems(
    logged_in: FlaskClient, lessons: Path
) -> None:
    (lessons / "queue.yaml").write_text(WRONG_EXPECT, encoding="utf-8")
    page = logged_in.get("/instructor/preview/queue.yaml").get_data(as_text=True)
    assert "this version, as it runs: it loads but fails a check below" in page
    assert "1 problem" in page and "expect" in page
    assert "The worker takes the job" in page and 'id="stepper"' in page


def test_a_file_that_does_not_load_shows_the_last_good_version_and_its_problems(
    logged_in: FlaskClient, lessons: Path
) -> None:
    logged_in.get("/instructor")  # the catalog has served the good version
    (lessons / "queue.yaml").write_text(NOT_YAML, encoding="utf-8")
    page = logged_in.get("/instructor/preview/queue.yaml").get_data(as_text=True)
    assert "the last good version: this one does not load" in page
    assert "YAML syntax error" in page
    assert "The producer queues a job" in page


def test_a_file_that_never_loaded_shows_its_problems_and_no_step_view(logged_in: FlaskClient, lessons: Path) -> None:
    (lessons / "new.yaml").write_text(NOT_YAML, encoding="utf-8")
    page = logged_in.get("/instructor/preview/new.yaml").get_data(as_text=True)
    assert "nothing: this file has never loaded" in page and "YAML syntax error" in page
    assert 'id="stepper"' not in page and 'id="preview"' in page and 'hx-trigger="every 1s"' in page


def _poll_url(page: str) -> str:
    match = re.search(r'id="preview"[^>]*hx-get="([^"]+)"', page)
    assert match, "the preview does not poll"
    return html.unescape(match.group(1))


def test_the_poll_answers_204_until_the_file_changes_then_the_new_preview(
    logged_in: FlaskClient, lessons: Path
) -> None:
    page = logged_in.get("/instructor/preview/queue.yaml?step=1").get_data(as_text=True)
    poll = _poll_url(page)
    headers = {"HX-Request": "true", "HX-Current-URL": "http://localhost/instructor/preview/queue.yaml?step=1"}
    same = logged_in.get(poll, headers=headers)
    assert same.status_code == 204 and same.data == b""
    (lessons / "queue.yaml").write_text(GOOD.replace("queues a job", "queues an urgent job"), encoding="utf-8")
    changed = logged_in.get(poll, headers=headers)
    fragment = changed.get_data(as_text=True)
    assert changed.status_code == 200
    assert "The producer queues an urgent job" in fragment
    assert "Step 1 of 2" in fragment  # it stays at the step the page's address is at
    assert '<p hx-swap-oob="innerHTML:#preview-news">Updated at ' in fragment  # said in the live region
    new_poll = _poll_url(fragment)
    assert new_poll != poll and logged_in.get(new_poll, headers=headers).status_code == 204


@pytest.mark.parametrize("name", ["nope.yaml", "..%2Fsecret.yaml", "queue.yml"])
def test_the_preview_of_a_file_not_in_the_folder_is_a_404(logged_in: FlaskClient, name: str) -> None:
    response = logged_in.get(f"/instructor/preview/{name}")
    assert response.status_code == 404


def test_an_instructor_page_uses_one_database_connection(app: Flask, logged_in: FlaskClient) -> None:
    events: list[str] = []
    pool = app.extensions["tutor.db"].pool
    sqlalchemy.event.listen(pool, "checkout", lambda *_: events.append("out"))
    sqlalchemy.event.listen(pool, "checkin", lambda *_: events.append("in"))
    for path in ("/instructor", "/instructor/results", "/instructor/csv"):
        assert logged_in.get(path).status_code == 200
    assert events == ["out", "in"] * 3  # the login check and the page share the request's store


def test_instructor_pages_carry_the_site_policy_and_no_inline_script_or_style(logged_in: FlaskClient) -> None:
    for path in ("/instructor", "/instructor/preview/queue.yaml", "/instructor/results", "/instructor/login"):
        response = logged_in.get(path, follow_redirects=True)
        page = response.get_data(as_text=True)
        assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
        assert not re.search(r"<script(?![^>]*\bsrc=)", page), path
        assert not re.search(r"<style|\sstyle=", page), path


def test_the_area_reads_its_files_from_the_lessons_folder_only(tmp_path: Path, database_url: str) -> None:
    folder = tmp_path / "lessons"
    shutil.copytree(ROOT / "tests" / "fixtures", folder)
    app = make_app(folder, database_url)
    try:
        accounts.add(_store(app), "ada", PASSWORD)
        client = app.test_client()
        log_in(client)
        page = client.get("/instructor").get_data(as_text=True)
        assert sorted(re.findall(r'<code class="file">([^<]+)</code>', page)) == sorted(
            p.name for p in folder.iterdir() if p.suffix in (".yaml", ".yml")
        )
    finally:
        app.extensions["tutor.db"].dispose()
