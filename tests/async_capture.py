"""Run the async-flask lesson's own sample view against a real redis-server and record, with MONITOR,
the commands its gathered (or awaited-in-turn) tasks really send: shared by the async fidelity test
and bench/async_gather_order.py.

The view is the lesson's sample code (the part above its "# service.py" line), written to a file
and imported, with its client pointed at the given server; it runs on Flask's test client, so Flask
and asgiref run it exactly as under a WSGI server: a new event loop in a new thread per request.
The two services are threads that do what the sample's service.py does (BRPOP the requests list,
LPUSH the reply), one request each. Their "1 s of work" is a gate, not a sleep: a service replies
once MONITOR shows the view waiting for it (both BRPOPs for the gathered view, as in the lesson,
price first), so the replies come where the lesson puts them and no wait races anything.
"""

from __future__ import annotations

import importlib.util
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import redis
from redis_monitor import parse_monitor_line

TIMEOUT = 15.0  # seconds; no single wait may take longer
SERVICES = ("price", "stock")
CLIENT_LINE = "aioredis.Redis(decode_responses=True)"  # what the sample writes; pointed at our server


@dataclass(frozen=True)
class Sent:
    """One queue command as MONITOR reported it: which connection sent it, which command, which key."""

    client: str
    name: str
    key: str

    @property
    def side(self) -> str:
        """'view' for the request side (LPUSH x:requests, BRPOP x:reply), else 'service'."""
        view = (self.name == "LPUSH" and self.key.endswith(":requests")) or (
            self.name == "BRPOP" and self.key.endswith(":reply")
        )
        return "view" if view else "service"


@dataclass(frozen=True)
class Run:
    """What one request sent, in MONITOR's order, and what the view answered."""

    sent: list[Sent]
    answer: dict[str, Any]
    left: dict[str, list[str]]  # the request lists after the run

    def view_order(self) -> tuple[tuple[str, str], ...]:
        return tuple((s.name, s.key) for s in self.sent if s.side == "view")


def load_sample_app(code: str, host: str, port: int, workdir: Path) -> ModuleType:
    """Import the view half of the lesson's sample, its redis.asyncio client pointed at host:port."""
    view_code = code.split("# service.py")[0]
    if CLIENT_LINE not in view_code:
        raise AssertionError(f"the sample no longer creates its client with {CLIENT_LINE!r}; update {__file__}")
    view_code = view_code.replace(CLIENT_LINE, f"aioredis.Redis(host={host!r}, port={port}, decode_responses=True)")
    path = workdir / "async_sample_app.py"
    path.write_text(view_code, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("async_sample_app", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def wait_for(condition: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> None:
    """Poll a condition until it holds; fail with `what` at the deadline. Never a bare sleep."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.002)


class Monitor:
    """A raw MONITOR connection, read in the caller's thread (sent() reads what has arrived)."""

    def __init__(self, host: str, port: int) -> None:
        self._sock = socket.create_connection((host, port), timeout=TIMEOUT)
        self._sock.sendall(b"MONITOR\r\n")
        self._buffer = b""
        self._lines: list[str] = []
        wait_for(lambda: "+OK" in self._read(), "MONITOR to start")

    def _read(self) -> list[str]:
        self._sock.settimeout(0.01)
        try:
            chunk = self._sock.recv(65536)
        except TimeoutError:
            chunk = b""
        self._buffer += chunk
        *complete, self._buffer = self._buffer.split(b"\r\n")
        self._lines.extend(line.decode("latin-1") for line in complete)
        return self._lines

    def argvs(self) -> list[tuple[str, list[str]]]:
        """(client, argv) of every command seen so far."""
        self._read()
        parsed = (parse_monitor_line(line[1:]) for line in self._lines if line.startswith("+"))
        return [(client, argv) for p in parsed if p for _, client, argv in [p]]

    def sent(self) -> list[Sent]:
        return [
            Sent(client, argv[0].upper(), argv[1])
            for client, argv in self.argvs()
            if len(argv) > 1 and argv[0].upper() in ("LPUSH", "BRPOP") and argv[1].split(":")[0] in SERVICES
        ]

    def saw(self, name: str, key: str) -> bool:
        return any(s.name == name and s.key == key for s in self.sent())

    def close(self) -> None:
        self._sock.close()


class Service(threading.Thread):
    """One service of the sample's service.py, for one request: BRPOP its list, reply when let go."""

    def __init__(self, name: str, url: str, answer: str) -> None:
        super().__init__(name=f"service-{name}", daemon=True)
        self.service = name
        self.answer = answer
        self.go = threading.Event()
        self.error: BaseException | None = None
        self._client = redis.Redis.from_url(url, decode_responses=True, socket_timeout=None)

    def run(self) -> None:
        try:
            popped = self._client.brpop([f"{self.service}:requests"], timeout=0)
            assert popped is not None
            if self.go.wait(TIMEOUT):
                self._client.lpush(f"{self.service}:reply", self.answer)
        except BaseException as error:  # reported by the caller, never swallowed
            self.error = error
        finally:
            self._client.close()


def capture(app: Any, host: str, port: int, route: str, services: tuple[str, ...] = SERVICES) -> Run:
    """One request to `route` ('/product/p1', '/product-slow/p1'), with the given services running."""
    url = f"redis://{host}:{port}/0"
    admin = redis.Redis(host=host, port=port, decode_responses=True)
    admin.flushall()
    monitor = Monitor(host, port)
    answers = {"price": "9.99", "stock": "12"}
    workers = {name: Service(name, url, answers[name]) for name in services}
    result: dict[str, Any] = {}
    view: threading.Thread | None = None
    try:
        for name in services:  # one after the other, so they wait in the lesson's order
            workers[name].start()
            wait_for(lambda name=name: monitor.saw("BRPOP", f"{name}:requests"), f"the {name} service's BRPOP")

        def request() -> None:
            response = app.test_client().get(route)
            result["status"] = response.status_code
            result["json"] = response.get_json()

        view = threading.Thread(target=request, name="view", daemon=True)
        view.start()
        gathered = not route.startswith("/product-slow")
        for name in services:
            # Gathered: each service replies once the view waits on both replies; in turn: on its own.
            waits_on = SERVICES if gathered else (name,)
            wait_for(
                lambda waits_on=waits_on: (
                    all(monitor.saw("BRPOP", f"{n}:reply") for n in waits_on) or not view.is_alive()
                ),
                f"the view's BRPOP on {waits_on}",
            )
            workers[name].go.set()
            wait_for(lambda name=name: monitor.saw("LPUSH", f"{name}:reply"), f"the {name} service's reply")
        view.join(TIMEOUT)
        assert not view.is_alive(), f"the view did not answer {route} within {TIMEOUT} s"
        for worker in workers.values():
            worker.join(TIMEOUT)
            if worker.error is not None:
                raise worker.error
        assert result.get("status") == 200, f"{route} answered {result}"
        admin.echo("end of run")
        wait_for(lambda: any(argv[:1] == ["ECHO"] for _, argv in monitor.argvs()), "MONITOR to see the run's end")
        left = {f"{n}:requests": admin.lrange(f"{n}:requests", 0, -1) for n in SERVICES}
        return Run(monitor.sent(), result["json"], left)
    finally:
        for worker in workers.values():
            worker.go.set()
        monitor.close()
        admin.close()
