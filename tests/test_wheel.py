"""The wheel is the site: built with `pip wheel .`, installed in a fresh venv outside the checkout, it
finds its templates, static files, lessons and migrations inside the package and serves every page of
every lesson.

The fresh venv gets the wheel through pip (no dependencies); the dependencies come from the test
venv's site-packages through a .pth line (a path only: the editable install's hooks there are not
run), so the test needs no network. The checkout is never on the installed site's path.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

SERVE_EVERY_PAGE = r"""
import json, os, sys
from tutor import create_app
from tutor.paths import data_dir

app = create_app({"TESTING": True, "SECRET_KEY": "wheel", "REDIS_URL": None})
client = app.test_client()
lessons, broken = app.extensions["tutor.catalog"].state()
urls = ["/", "/progress.json"]
for name in ("style.css", "stepper.js", "pygments.css", "vendor/htmx.min.js"):
    urls.append(f"/static/{name}")
for lesson in lessons:
    urls.append(f"/lessons/{lesson.id}/")
    if lesson.performance is not None:
        urls.append(f"/lessons/{lesson.id}/performance")
    if lesson.quizzes():
        urls.append(f"/lessons/{lesson.id}/quiz")
    urls.append(f"/api/lessons/{lesson.id}/trace")
    for walk in lesson.step_throughs:
        for step in range(len(walk.steps) + 1):
            urls.append(f"/lessons/{lesson.id}/step-through/{walk.slug}?step={step}")
statuses = {url: client.get(url).status_code for url in urls}
print(json.dumps({
    "lessons": [lesson.id for lesson in lessons],
    "broken": len(broken),
    "statuses": statuses,
    "module": __import__("tutor").__file__,
    "folders": [app.template_folder, app.static_folder, str(data_dir("lessons")), app.instance_path],
}))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip wheel . --no-deps`, as a packager would run it."""
    out = tmp_path_factory.mktemp("wheel")
    # From a clean copy of what the repository tracks: setuptools' in-tree build/ folder would keep
    # stale files from earlier builds (and litter the checkout).
    source = tmp_path_factory.mktemp("source")
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in tracked.decode().split("\0"):
        if name and (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-q", "-w", str(out)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    [built] = out.glob("tutor-*.whl")
    return built


def test_the_wheel_carries_templates_static_files_lessons_and_migrations(wheel: Path) -> None:
    import zipfile

    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"tutor/templates/{p.name}" for p in (ROOT / "templates").glob("*.html")}
    expected |= {f"tutor/static/{p.relative_to(ROOT / 'static')}" for p in (ROOT / "static").rglob("*") if p.is_file()}
    expected |= {f"tutor/lessons/{p.name}" for p in (ROOT / "lessons").glob("*.yaml")}
    expected |= {"tutor/migrations/env.py", "tutor/migrations/versions/0001_progress_tables.py"}
    assert expected <= names, sorted(expected - names)


def test_the_installed_wheel_serves_every_page_of_every_lesson(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    (site / "zz_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    done = subprocess.run(
        [str(python), "-c", SERVE_EVERY_PAGE],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=600,
        env={"PATH": "/usr/bin:/bin", "TUTOR_INSTANCE_PATH": str(tmp_path / "instance"), "HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(report["module"]).is_relative_to(site)  # the installed copy, not the checkout
    for folder in report["folders"][:3]:
        assert Path(folder).is_relative_to(site), folder
    assert sorted(report["lessons"]) == sorted(p.stem for p in (ROOT / "lessons").glob("*.yaml"))
    assert report["broken"] == 0
    not_ok = {url: code for url, code in report["statuses"].items() if code != 200}
    assert not_ok == {}
    assert sum("step-through" in url for url in report["statuses"]) > 10
    assert (tmp_path / "instance" / "tutor.sqlite3").is_file()  # progress went to the instance folder
