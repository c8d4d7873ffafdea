"""A TTL on every key a run makes, so a process killed mid-run leaves nothing behind for long.

The engine deletes a run's keys when the run ends; a process killed before that cannot. So every
key gets a *lease*: an expiry the engine sets when the key appears, that Redis itself enforces. A
run is remade from its log on every request, so each use of a run leases its keys afresh.

The learner must not see it: a key the author never gave an expiry must still look persistent.
Of the allowed commands only EXPIRE, PEXPIRE, PERSIST, RENAME, GETEX and the SET family can see,
set or carry an expiry (TTL, PTTL, OBJECT ... are refused), so before one of them runs on a
leased key the lease is lifted (PERSIST), and afterwards any key left without an expiry is
leased again. A key the author gave
an expiry keeps it untouched: it is only leased again if that expiry is removed.

Known limit: lifting a lease is a PERSIST, a write, so a client that WATCHes a leased key and
then queues EXPIRE, PERSIST or RENAME on it inside MULTI sees its EXEC fail where Redis would run
it. No lesson does that today; the reference tier would show it if one did.
"""

from __future__ import annotations

from collections.abc import Iterable

import redis

DEFAULT_TTL_SECONDS = 600.0
# Commands that read, set or move a key's expiry -> how many of their first arguments are keys.
_SEES_EXPIRY = {"EXPIRE": 1, "PEXPIRE": 1, "PERSIST": 1, "RENAME": 2, "GETEX": 1, "SET": 1, "SETEX": 1, "PSETEX": 1}


class Lease:
    """The keys of one run that carry only the engine's expiry, and the length of that expiry."""

    def __init__(self, ttl_seconds: float | None = None) -> None:
        self.ttl_ms = max(1, int((ttl_seconds or DEFAULT_TTL_SECONDS) * 1000))
        self.leased: set[str] = set()

    def before(self, observer: redis.Redis, sent: list[str]) -> None:
        """Lift the lease from the keys of a command that would see or move it."""
        count = _SEES_EXPIRY.get(sent[0].upper(), 0)
        for key in sent[1 : 1 + count]:
            if key in self.leased:
                observer.persist(key)
                self.leased.discard(key)

    def after(self, observer: redis.Redis, keys: Iterable[str]) -> None:
        """Lease every named key that exists without an expiry (new keys, and keys whose expiry went)."""
        names = sorted(keys)
        if not names:
            return
        pipe = observer.pipeline(transaction=False)
        for key in names:
            pipe.pttl(key)
        ttls = pipe.execute()
        # Only keys without any expiry: they were just written, so setting one invalidates no WATCH
        # that the command itself did not already invalidate (renewing a leased key would).
        renew = [key for key, ttl in zip(names, ttls, strict=True) if ttl == -1]
        if not renew:
            return
        pipe = observer.pipeline(transaction=False)
        for key in renew:
            pipe.pexpire(key, self.ttl_ms)
        pipe.execute()
        self.leased.update(renew)
