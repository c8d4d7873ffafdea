"""One entry point for a fresh machine with only Python 3.11+.

    python3 run.py           create .venv, install tutor, serve http://127.0.0.1:5000
    python3 run.py test      create .venv, install tutor with its test dependencies, run pytest

Extra arguments after `test` go to pytest. Installing is skipped when pyproject.toml has not
changed since the last install.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _inside_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


def _ensure_installed(extra: str) -> None:
    if not PYTHON.exists():
        print(f"Creating {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extra.encode()).hexdigest()
    stamp = VENV / f".installed{'-' + extra if extra else ''}"
    if stamp.exists() and stamp.read_text() == digest:
        return
    target = f".[{extra}]" if extra else "."
    print(f"Installing tutor{' with ' + extra + ' dependencies' if extra else ''} ...", flush=True)
    subprocess.run([str(PYTHON), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([str(PYTHON), "-m", "pip", "install", "--quiet", "-e", target], cwd=ROOT, check=True)
    stamp.write_text(digest)


def main() -> int:
    args = sys.argv[1:]
    testing = bool(args) and args[0] == "test"
    if not _inside_venv():
        _ensure_installed("test" if testing else "")
        os.chdir(ROOT)
        os.execv(str(PYTHON), [str(PYTHON), str(ROOT / "run.py"), *args])
    if testing:
        import pytest

        # One worker per core, at most four (pytest-xdist): the suite is CPU-bound, on two cores it takes
        # about 20% less time. Every test has its own ports, temp folders and databases; each worker
        # starts its own redis-server and browser. `python3 run.py test -n 0` runs it in one process.
        return int(pytest.main(["-q", "-n", "auto", "--maxprocesses=4", *args[1:]]))
    from tutor import create_app

    create_app().run(host="127.0.0.1", port=int(os.environ.get("PORT", "5000")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
