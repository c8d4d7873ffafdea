"""CPU per request kind in bench/load.py's pattern, in one process: new and returning learners' pages, clicks, answers.

    .venv/bin/python bench/request_kinds.py [--learners 200] [--sessions 4] [--sqlite]

Each learner runs --sessions sessions of what bench/load.py sends (a full page at step 0, 6 steps
forward and 3 back as htmx clicks, one right answer to a quiz question with htmx; gzip accepted),
one learner after another, the app called as WSGI (no test client) on a real redis-server and a
throwaway PostgreSQL (--sqlite: a SQLite file instead). Each session changes the learner's standing
on the question (one more attempt), as in the load: a page or quiz answer kept for one standing is
not reused for the next. Prints the median and mean CPU time of the thread per request of each kind
(the first quarter of each kind left out as warm-up), and the mean over all. Figures only.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import gzip
import html
import re
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from load import LESSON, plan
from servers import ROOT, postgres_server, redis_server
from werkzeug.test import EnvironBuilder

from tutor import create_app

KINDS = ("new learner's page", "page", "click", "quiz answer")


@contextlib.contextmanager
def database(sqlite: bool) -> Iterator[dict[str, str]]:
    """The progress database's configuration: a throwaway PostgreSQL, or a SQLite file."""
    if sqlite:
        yield {"TUTOR_DATABASE": str(Path(tempfile.mkdtemp(prefix="tutor-bench-")) / "progress.sqlite3")}
        return
    with postgres_server() as url:
        yield {"DATABASE_URL": url}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--learners", type=int, default=200)
    parser.add_argument("--sessions", type=int, default=4)
    parser.add_argument("--sqlite", action="store_true", help="progress in a SQLite file, not PostgreSQL")
    args = parser.parse_args()
    p = plan()
    with redis_server() as redis_url, database(args.sqlite) as store:
        app = create_app(
            {"TUTOR_LESSONS": str(ROOT / "lessons"), "SECRET_KEY": "bench", "REDIS_URL": redis_url, **store}
        )
        times: dict[str, list[float]] = collections.defaultdict(list)

        def call(kind: str, environ: dict[str, Any]) -> tuple[list[tuple[str, str]], str]:
            answer: dict[str, Any] = {}

            def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
                answer.update(status=status, headers=headers)

            start = time.thread_time()
            body = b"".join(app.wsgi_app(environ, start_response))  # type: ignore[arg-type]
            times[kind].append(time.thread_time() - start)
            assert answer["status"].startswith("200"), (kind, answer["status"])
            if ("Content-Encoding", "gzip") in answer["headers"]:
                body = gzip.decompress(body)
            return answer["headers"], body.decode()

        gz = {"Accept-Encoding": "gzip"}
        click = {"HX-Request": "true", **gz}
        cookies: list[str | None] = [None] * args.learners
        for _ in range(args.sessions):
            for number in range(args.learners):

                def environ(path: str, query: str = "", headers: dict[str, str] = gz, form: str | None = None) -> Any:
                    sent = {**headers, **({"Cookie": cookies[number]} if cookies[number] else {})}  # noqa: B023
                    options: dict[str, Any] = {"path": path, "query_string": query, "headers": sent}
                    if form is not None:
                        options.update(method="POST", data=form, content_type="application/x-www-form-urlencoded")
                    return EnvironBuilder(**options).get_environ()

                def keep(headers: list[tuple[str, str]]) -> None:
                    for name, value in headers:
                        if name == "Set-Cookie":
                            cookies[number] = value.split(";", 1)[0]  # noqa: B023

                kind = KINDS[0] if cookies[number] is None else KINDS[1]
                headers, page = call(kind, environ(p.base, "step=0"))
                keep(headers)
                token = re.search(r'name="csrf" value="([^"]*)"', page)
                assert token is not None
                for step in [*range(1, 7), *range(5, 2, -1)]:
                    keep(call("click", environ(p.base, f"step={step}", click))[0])
                form = (
                    f"csrf={quote(html.unescape(token.group(1)), safe='')}&quiz={quote(p.quiz, safe='')}"
                    f"&question={p.question}&place=mode&choice={p.right}"
                )
                keep(call("quiz answer", environ(f"/lessons/{LESSON}/quiz/answer", headers=click, form=form))[0])
        print(
            f"{args.learners} learners x {args.sessions} sessions, progress in "
            f"{'SQLite' if args.sqlite else 'PostgreSQL'}, real redis-server; CPU time of the thread per request"
        )
        for kind in KINDS:
            kept = times[kind][len(times[kind]) // 4 :]
            median, mean = statistics.median(kept) * 1000, statistics.mean(kept) * 1000
            print(f"  {kind:20s} {len(times[kind]):6d} requests   median {median:.3f} ms   mean {mean:.3f} ms")
        every = [t for kind in KINDS for t in times[kind]]
        print(f"  {'all':20s} {len(every):6d} requests   mean {statistics.mean(every) * 1000:.3f} ms")


if __name__ == "__main__":
    main()
