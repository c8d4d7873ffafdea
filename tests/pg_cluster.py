"""A throwaway PostgreSQL cluster on a free loopback port, for the tests and for .ci/run.

Standard library only, so .ci/run can call it before the virtualenv exists:

    python3 tests/pg_cluster.py start DIR    # prints the cluster's URL (postgresql+psycopg://...)
    python3 tests/pg_cluster.py stop DIR

Uses Debian's `postgresql` binaries (/usr/lib/postgresql/<version>/bin). PostgreSQL refuses to run as
root, so as root the cluster belongs to the `postgres` user (runuser); otherwise to the current user.
Durability is switched off (fsync, synchronous_commit): the data lives only as long as the tests.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

USER = "tutor"


def binaries() -> Path | None:
    """The folder of pg_ctl and initdb (the newest installed version), or None."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_owner(argv: list[str]) -> list[str]:
    """The command, run as `postgres` when we are root (initdb and postgres refuse root)."""
    if os.name == "posix" and os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *argv]
    return argv


def start(folder: str | Path) -> str:
    """Create and start a cluster in `folder`; return its URL once it accepts connections."""
    bin_dir = binaries()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    if os.name == "posix" and os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    data = root / "data"
    port = _free_port()
    subprocess.run(
        _as_owner([str(bin_dir / "initdb"), "-D", str(data), "-U", USER, "-A", "trust", "-E", "UTF8", "--no-sync"]),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
        " -c full_page_writes=off -c max_connections=100"
    )
    subprocess.run(
        _as_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"]),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    (root / "port").write_text(str(port))
    _wait_for(port)
    return f"postgresql+psycopg://{USER}@127.0.0.1:{port}/postgres"


def _wait_for(port: int, seconds: float = 30.0) -> None:
    """Poll until the port accepts connections (pg_ctl -w already waited; this is a guard)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start on port {port}") from None
            time.sleep(0.05)  # polling for readiness with a deadline


def stop(folder: str | Path) -> None:
    """Stop the cluster in `folder` and delete it."""
    bin_dir = binaries()
    data = Path(folder) / "data"
    if bin_dir is not None and data.is_dir():
        subprocess.run(
            _as_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("start", "stop"):
        raise SystemExit("usage: pg_cluster.py start|stop DIR")
    if sys.argv[1] == "start":
        print(start(sys.argv[2]))
    else:
        stop(sys.argv[2])
