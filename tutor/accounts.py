"""Instructor accounts and the login rate limit, in the SQL store (no Flask here).

Passwords are hashed with Werkzeug's scrypt (werkzeug.security): Werkzeug ships with Flask and is
maintained by Pallets, so this adds no dependency and no compiled extension to the wheel; scrypt
(hashlib, OpenSSL) is memory-hard, and the hash string names its method, parameters and salt
("scrypt:32768:8:1$salt$hash"), so the cost can be raised later while old hashes still verify.

Failed logins are rows in `login_failures`, never a counter in process memory: every process of
the site sees the same count, and a restart forgets nothing.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import cache
from typing import Protocol

from sqlalchemy import Column, Connection, Float, Index, Integer, Table, Text, delete, func, insert, or_, select
from werkzeug.security import check_password_hash, generate_password_hash

from tutor import db, messages

instructors = Table(
    "instructors",
    db.metadata,
    Column("name", Text, primary_key=True),
    Column("password_hash", Text, nullable=False),
    Column("created", Float, nullable=False),
)

login_failures = Table(
    "login_failures",
    db.metadata,
    Column("id", Integer, primary_key=True),
    Column("account", Text, nullable=False),
    Column("ip", Text, nullable=False),
    Column("at", Float, nullable=False),
    Index("login_failures_by_account", "account", "at"),
    Index("login_failures_by_ip", "ip", "at"),
    sqlite_autoincrement=True,
)

NAME = re.compile(r"[a-z0-9][a-z0-9_.@-]{0,63}")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # scrypt's cost grows with the input: refuse megabyte "passwords" before hashing
HASH_METHOD = "scrypt"  # Werkzeug's default parameters: N=2**15, r=8, p=1 (32 MiB, about 0.1 s)


class Transactional(Protocol):
    """Anything that hands out one transaction at a time: the request's store, or a script's."""

    def transaction(self) -> AbstractContextManager[Connection]: ...


class AccountError(ValueError):
    """An account that cannot be made or found; the message is the sentence to show."""


@dataclass(frozen=True)
class Account:
    """An instructor, as a login needs them."""

    name: str
    created: float


@dataclass(frozen=True)
class Throttle:
    """At most `failures` failed logins per account, and per address, in any `window` seconds."""

    failures: int = 5
    window: float = 300.0


@dataclass(frozen=True)
class Outcome:
    """What a login attempt came to: an account, a wrong name or password, or a wait."""

    account: Account | None = None
    retry_after: float | None = None  # seconds; set when the limit refused the attempt


def normalise(name: str) -> str:
    """Account names ignore case, so 'Ada' and 'ada' share one account and one failure count."""
    return name.strip().lower()


def check_name(name: str) -> str:
    """The normalised name, or AccountError with the rule."""
    normal = normalise(name)
    if not NAME.fullmatch(normal):
        raise AccountError(messages.INSTRUCTOR_BAD_NAME)
    return normal


def check_password(password: str) -> None:
    """AccountError unless the password's length is within the limits."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(messages.INSTRUCTOR_SHORT_PASSWORD.format(minimum=MIN_PASSWORD))
    if len(password) > MAX_PASSWORD:
        raise AccountError(messages.INSTRUCTOR_LONG_PASSWORD.format(maximum=MAX_PASSWORD))


def add(store: Transactional, name: str, password: str, now: Callable[[], float] = time.time) -> Account:
    """Make an account; AccountError if the name or password breaks a rule, or the name is taken."""
    normal = check_name(name)
    check_password(password)
    hashed = generate_password_hash(password, method=HASH_METHOD)
    with store.transaction() as connection:
        if connection.execute(select(instructors.c.name).where(instructors.c.name == normal)).first():
            raise AccountError(messages.INSTRUCTOR_EXISTS.format(name=normal))
        created = now()
        connection.execute(insert(instructors).values(name=normal, password_hash=hashed, created=created))
    return Account(normal, created)


def remove(store: Transactional, name: str) -> bool:
    """Delete an account (its sessions end at their next request); False if there was none."""
    with store.transaction() as connection:
        result = connection.execute(delete(instructors).where(instructors.c.name == normalise(name)))
        return bool(result.rowcount)


def listed(store: Transactional) -> list[Account]:
    """Every account, by name."""
    with store.transaction() as connection:
        rows = connection.execute(select(instructors.c.name, instructors.c.created).order_by(instructors.c.name))
        return [Account(name, created) for name, created in rows]


def find(store: Transactional, name: str) -> Account | None:
    """The account with this name, or None."""
    with store.transaction() as connection:
        row = connection.execute(
            select(instructors.c.name, instructors.c.created).where(instructors.c.name == normalise(name))
        ).first()
    return Account(row[0], row[1]) if row else None


@cache
def _decoy() -> str:
    """A hash to check against when the name is unknown, so both answers take as long."""
    return generate_password_hash(secrets.token_urlsafe(16), method=HASH_METHOD)


def login(
    store: Transactional,
    name: str,
    password: str,
    ip: str,
    throttle: Throttle = Throttle(),
    now: Callable[[], float] = time.time,
) -> Outcome:
    """Check a password under the rate limit; failures are counted per account and per address.

    While the limit holds, even the right password is refused (else the limit would not slow down a
    guesser), and an unknown name is counted and answered exactly like a known one.
    """
    normal = normalise(name)[:64]
    moment = now()
    wait = _wait(store, normal, ip, throttle, moment)
    if wait is not None:
        return Outcome(retry_after=wait)
    with store.transaction() as connection:
        row = connection.execute(
            select(instructors.c.name, instructors.c.password_hash, instructors.c.created).where(
                instructors.c.name == normal
            )
        ).first()
    if len(password) > MAX_PASSWORD:
        password = ""  # never hash a huge input; an empty password matches no account
    if row is None:
        check_password_hash(_decoy(), password)  # the same work as for a real account, and always wrong
    elif check_password_hash(row[1], password):
        with store.transaction() as connection:
            connection.execute(delete(login_failures).where(login_failures.c.account == normal))
        return Outcome(account=Account(row[0], row[2]))
    with store.transaction() as connection:
        connection.execute(delete(login_failures).where(login_failures.c.at < moment - throttle.window))
        connection.execute(insert(login_failures).values(account=normal, ip=ip, at=moment))
    return Outcome()


def _wait(store: Transactional, name: str, ip: str, throttle: Throttle, moment: float) -> float | None:
    """Seconds until the account and the address are both under the limit again, or None if they are now.

    The limit lifts when the newest `failures`-th failure leaves the window: then fewer remain.
    """
    t = login_failures.c
    waits = []
    with store.transaction() as connection:
        for column, value in ((t.account, name), (t.ip, ip)):
            at = connection.execute(
                select(t.at)
                .where(column == value, t.at >= moment - throttle.window)
                .order_by(t.at.desc())
                .offset(throttle.failures - 1)
                .limit(1)
            ).scalar()
            if at is not None:
                waits.append(max(at + throttle.window - moment, 1.0))
    return max(waits) if waits else None


def failures(store: Transactional, name: str | None = None, ip: str | None = None) -> int:
    """How many failed logins are kept for an account or an address (for tests and the CLI)."""
    t = login_failures.c
    where = or_(t.account == normalise(name or ""), t.ip == (ip or ""))
    with store.transaction() as connection:
        return int(connection.execute(select(func.count()).where(where)).scalar_one())
