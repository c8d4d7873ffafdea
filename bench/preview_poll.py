"""What the live preview's once-a-second poll costs the server, through the Flask test client.

    .venv/bin/python bench/preview_poll.py [--polls 500] [--lesson lessons/redis-broker.yaml]

Prints the mean and p99 of an unchanged poll (login check, one bounded read and a hash, then 204),
and of a poll after the file changed (a new version: load, check and execute once, render the step
view), each against the same copy of the lesson in a temporary folder.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from tutor import accounts, create_app
from tutor.progress import SqlStore

PASSWORD = "bench password 1234"


def _show(label: str, times: list[float]) -> None:
    ordered = sorted(times)
    p99 = ordered[max(int(len(ordered) * 0.99) - 1, 0)]
    print(f"{label:44s} mean {statistics.mean(times) * 1e3:7.2f} ms   p99 {p99 * 1e3:7.2f} ms   ({len(times)} polls)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--polls", type=int, default=500)
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--lesson", default="lessons/redis-broker.yaml")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        lessons = Path(folder) / "lessons"
        lessons.mkdir()
        file = lessons / Path(args.lesson).name
        shutil.copy(args.lesson, file)
        app = create_app(
            {
                "TUTOR_LESSONS": str(lessons),
                "TUTOR_DATABASE": str(Path(folder) / "tutor.sqlite3"),
                "SECRET_KEY": "bench",
                "REDIS_URL": None,
            }
        )
        accounts.add(SqlStore(app.extensions["tutor.db"], keep=False), "bench", PASSWORD)
        client = app.test_client()
        page = client.get("/instructor/login").get_data(as_text=True)
        token = re.search(r'name="csrf" value="([^"]+)"', page)
        assert token
        client.post("/instructor/login", data={"csrf": token[1], "name": "bench", "password": PASSWORD})
        page = client.get(f"/instructor/preview/{file.name}").get_data(as_text=True)
        poll = re.search(r'id="preview"[^>]*hx-get="([^"]+)"', page)
        assert poll
        url = poll[1].replace("&amp;", "&")
        headers = {"HX-Request": "true", "HX-Current-URL": f"http://localhost/instructor/preview/{file.name}"}
        unchanged = []
        for _ in range(args.polls):
            start = time.perf_counter()
            response = client.get(url, headers=headers)
            unchanged.append(time.perf_counter() - start)
            assert response.status_code == 204
        changed = []
        original = file.read_text(encoding="utf-8")
        for number in range(args.changes):
            file.write_text(f"{original}\n# edit {number}\n", encoding="utf-8")
            start = time.perf_counter()
            response = client.get(url, headers=headers)
            changed.append(time.perf_counter() - start)
            assert response.status_code == 200
        _show("unchanged file (204)", unchanged)
        _show("changed file (new version checked, rendered)", changed)
        app.extensions["tutor.db"].dispose()


if __name__ == "__main__":
    main()
