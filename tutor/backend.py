"""Where commands run: the embedded fakeredis server, or a real Redis from REDIS_URL.

Both hand out the same thing, a redis-py client pinned to one connection, so the engine runs one
code path on either backend and each actor really has its own connection.
"""

from __future__ import annotations

import threading

import fakeredis
import redis

from tutor import fakecompat
from tutor.fakedirect import DirectConnection
from tutor.limits import LIMITS

_IDLE_LIMIT = 64


class Backend:
    """A source of per-actor connections and of a shared client for the app's own data."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url
        self._server: fakeredis.FakeServer | None = None
        self._idle: list[redis.Redis] = []
        self._lock = threading.Lock()
        self._pool: redis.ConnectionPool | None = None
        if url:
            self._pool = redis.ConnectionPool.from_url(
                url,
                decode_responses=True,
                socket_timeout=LIMITS.command_timeout_seconds,
                socket_connect_timeout=LIMITS.command_timeout_seconds,
            )
        else:
            fakecompat.install()  # fakeredis answers as Redis 7.0 where it does not by itself
            self._server = fakeredis.FakeServer()

    @property
    def name(self) -> str:
        """'redis' for a real server, 'fakeredis' for the embedded one."""
        return "redis" if self.url else "fakeredis"

    def connection(self) -> redis.Redis:
        """A client that keeps one connection for its life: one actor's own connection.

        Give it back with release(). Embedded clients are costly to build (about 1 ms each), so
        released ones are kept for the next run; they carry no state of the run that used them.
        Their commands reach fakeredis as fields, not protocol bytes (`fakedirect`).
        """
        if self._pool is not None:
            return redis.Redis(connection_pool=self._pool, single_connection_client=True)
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return fakeredis.FakeRedis(
            server=self._server,
            decode_responses=True,
            single_connection_client=True,
            connection_class=DirectConnection,
        )

    def release(self, client: redis.Redis) -> None:
        """Take back an actor's connection; it must be out of MULTI and WATCH by now."""
        if self._pool is not None:
            client.close()
            return
        with self._lock:
            if len(self._idle) < _IDLE_LIMIT:
                self._idle.append(client)
                return
        client.close()

    def shared(self) -> redis.Redis:
        """A pooled client for looking at the server as a whole (tests, tools), never handed to a lesson."""
        if self._pool is not None:
            return redis.Redis(connection_pool=self._pool)
        return fakeredis.FakeRedis(server=self._server, decode_responses=True, connection_class=DirectConnection)

    def close(self) -> None:
        """Release pooled connections."""
        if self._pool is not None:
            self._pool.disconnect()
