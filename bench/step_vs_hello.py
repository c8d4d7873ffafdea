"""A step click and a full page, side by side with a Flask hello-world, in one process (test client).

    .venv/bin/python bench/step_vs_hello.py [--lesson async-flask] [--rounds 40] [--redis URL | --no-redis]

For every step number k of one step-through, prints the median time of an htmx step click
(`?step=k`, HX-Request, gzip accepted as browsers do: the whole request, progress write included)
and the median of a hello-world request timed in the same rounds (interleaved, so both see the
same machine load), and their ratios: in wall time, and in CPU time of the thread (what the request
costs; unlike wall time, other processes on a busy machine hardly change it). Then the same for full
pages at the first, middle and last step. It runs on the embedded default, then on a real
redis-server (started on a free loopback port unless --redis gives one). Progress goes to a fresh
SQLite file, as the embedded default does.

Targets (issue 12): a click at most 2x hello-world embedded and 3x on real Redis, flat in k;
a full page at most 4x. Figures only: nothing here is asserted by the test suite.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import html
import re
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from servers import ROOT, redis_server

from tutor import create_app

# What a browser sends on a step click: htmx's header, gzip, and (static/stepper.js) the steps of the
# predictions the page shows locked: none, since skip_predictions() below has reached every step.
CLICK = {"HX-Request": "true", "Accept-Encoding": "gzip", "X-Tutor-Locked": ""}
PAGE = {"Accept-Encoding": "gzip"}


def hello_app() -> Flask:
    """Flask's own minimal application."""
    app = Flask("hello")

    @app.get("/")
    def hello() -> str:
        return "Hello, World!"

    return app


def tutor_app(folder: Path, redis_url: str | None) -> Flask:
    return create_app(
        {
            "TUTOR_LESSONS": str(ROOT / "lessons"),
            "TUTOR_DATABASE": str(folder / "bench.sqlite3"),
            "SECRET_KEY": "bench",
            "REDIS_URL": redis_url,
        }
    )


def timed(client: FlaskClient, url: str, headers: dict[str, str], expect: str | None = None) -> tuple[float, float]:
    """Wall and CPU milliseconds of one request (CPU time: what the request cost, whatever else runs)."""
    start, cpu = time.perf_counter(), time.thread_time()
    response = client.get(url, headers=headers)
    elapsed, cpu = time.perf_counter() - start, time.thread_time() - cpu
    if response.status_code != 200:
        raise SystemExit(f"{url}: HTTP {response.status_code}")
    body = response.data
    if response.headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    if expect is not None and expect not in body.decode():
        raise SystemExit(f"{url}: the answer does not say {expect!r}")
    return elapsed * 1000, cpu * 1000


def skip_predictions(client: FlaskClient, base: str, count: int) -> None:
    """Answer 'skip' to every prediction question, so no step is held back while timing."""
    for step in range(count + 1):
        for _ in range(10):
            page = client.get(f"{base}?step={step}").get_data(as_text=True)
            form = re.search(r'<form method="post" class="prediction".*?</form>', page, re.S)
            if form is None:
                break
            fields = {
                name: html.unescape(re.search(rf'name="{name}" value="([^"]*)"', form.group(0)).group(1))  # type: ignore[union-attr]
                for name in ("csrf", "quiz", "question")
            }
            action = html.unescape(re.search(r'action="([^"]+)"', form.group(0)).group(1))  # type: ignore[union-attr]
            client.post(action, data={**fields, "skip": "1"})


def measure(label: str, redis_url: str | None, args: argparse.Namespace, hello: FlaskClient) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = tutor_app(Path(tmp), redis_url)
        client = app.test_client()
        base = f"/lessons/{args.lesson}/step-through" + (f"/{args.walkthrough}" if args.walkthrough else "")
        lesson = app.extensions["tutor.catalog"].get(args.lesson)
        count = len(lesson.step_through(args.walkthrough).steps)
        skip_predictions(client, base, count)
        for _ in range(3):  # warm: templates compiled, the walk executed once, caches filled
            for k in range(count + 1):
                client.get(f"{base}?step={k}", headers=CLICK)
            hello.get("/")
        clicks: dict[int, list[tuple[float, float]]] = {k: [] for k in range(count + 1)}
        hellos: list[tuple[float, float]] = []
        for _ in range(args.rounds):
            for k in range(count + 1):
                hellos.append(timed(hello, "/", {}))
                clicks[k].append(timed(client, f"{base}?step={k}", CLICK, expect=f"Step {k} of {count}"))
        wall, cpu = _medians(hellos)
        print(f"\n== {label}: lesson {args.lesson}, {count} steps, {args.rounds} rounds ==")
        print(f"hello-world: median {wall:.3f} ms wall, {cpu:.3f} ms CPU over {len(hellos)} requests")
        print(f"{'step':>4}  {'wall ms':>8}  {'x hello':>7}  {'CPU ms':>7}  {'x hello':>7}")
        ratios = []
        for k, times in clicks.items():
            click_wall, click_cpu = _medians(times)
            ratios.append((click_wall / wall, click_cpu / cpu))
            print(f"{k:>4}  {click_wall:8.3f}  {click_wall / wall:7.2f}  {click_cpu:7.3f}  {click_cpu / cpu:7.2f}")
        for index, what in enumerate(("wall", "CPU")):
            column = [r[index] for r in ratios]
            print(
                f"click / hello ({what}): median {statistics.median(column):.2f}x, min {min(column):.2f}x, "
                f"max {max(column):.2f}x; last step / step 1: {column[-1] / column[1]:.2f}"
            )
        pages: dict[int, list[tuple[float, float]]] = {k: [] for k in sorted({0, count // 2, count})}
        page_hellos: list[tuple[float, float]] = []
        for _ in range(args.rounds):
            for k in pages:
                page_hellos.append(timed(hello, "/", {}))
                pages[k].append(timed(client, f"{base}?step={k}", PAGE, expect=f"Step {k} of {count}"))
        wall, cpu = _medians(page_hellos)
        for k, times in pages.items():
            page_wall, page_cpu = _medians(times)
            print(
                f"full page at step {k}: median {page_wall:.3f} ms wall = {page_wall / wall:.2f}x hello, "
                f"{page_cpu:.3f} ms CPU = {page_cpu / cpu:.2f}x hello"
            )


def _medians(times: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(t[0] for t in times), statistics.median(t[1] for t in times)


@contextlib.contextmanager
def given(url: str) -> Iterator[str]:
    yield url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lesson", default="async-flask")
    parser.add_argument("--walkthrough", default=None)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--redis", help="a real Redis to use instead of starting one")
    parser.add_argument("--no-redis", action="store_true", help="only the embedded default")
    args = parser.parse_args()
    hello = hello_app().test_client()
    measure("embedded default (fakeredis, SQLite progress)", None, args, hello)
    if not args.no_redis:
        with given(args.redis) if args.redis else redis_server() as url:
            measure("real redis-server (SQLite progress)", url, args, hello)


if __name__ == "__main__":
    main()
