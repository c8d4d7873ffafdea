"""Why a command cannot run in a lesson: every refusal names its real reason.

A name Redis does not know is a typo (with the closest allowed name suggested); a real Redis command
is refused for what it would do to a shared server, to the actor's connection, or to a trace that
must come out the same on every run; a real command with no such reason is simply not in the
lessons' list yet. Each function returns the sentence to show, or None when there is nothing to say.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from tutor import messages
from tutor.redis_names import REDIS_COMMANDS

# Commands Redis has that lessons may not use, with the reason a learner or author is told.
# Any other name Redis knows (tutor/redis_names.py) is refused as not in the lessons' list yet.
FORBIDDEN: dict[str, str] = {
    name: messages.FORBIDDEN_GLOBAL
    for name in (
        "KEYS SCAN RANDOMKEY FLUSHALL FLUSHDB SWAPDB MOVE COPY MIGRATE DUMP RESTORE RESTORE-ASKING "
        "CONFIG DEBUG SHUTDOWN SAVE BGSAVE BGREWRITEAOF REPLICAOF SLAVEOF REPLCONF ROLE FAILOVER CLIENT CLUSTER ACL "
        "MODULE SCRIPT FUNCTION EVAL EVALSHA EVAL_RO EVALSHA_RO FCALL FCALL_RO INFO MONITOR DBSIZE "
        "LASTSAVE SYNC PSYNC WAIT OBJECT MEMORY LATENCY SLOWLOG COMMAND PUBSUB PFDEBUG PFSELFTEST LOLWUT"
    ).split()
}
FORBIDDEN.update(
    {name: messages.FORBIDDEN_CONNECTION for name in "HELLO AUTH QUIT RESET SELECT READONLY READWRITE ASKING".split()}
)
FORBIDDEN.update({name: messages.FORBIDDEN_SUBSCRIBE for name in "SSUBSCRIBE SUNSUBSCRIBE".split()})
FORBIDDEN.update({name: messages.FORBIDDEN_CLOCK for name in "TIME TTL PTTL EXPIRETIME PEXPIRETIME".split()})
FORBIDDEN.update({name: messages.FORBIDDEN_TIMESTAMP for name in "EXPIREAT PEXPIREAT".split()})
FORBIDDEN.update({name: messages.FORBIDDEN_CHANCE for name in "SPOP SRANDMEMBER HRANDFIELD ZRANDMEMBER".split()})

_XINFO_SUBCOMMANDS = ("STREAM", "GROUPS", "CONSUMERS")


def refusal(written: str, allowed: Iterable[str]) -> str:
    """Why a command that is not in the lessons' list cannot run, named as the author wrote it."""
    name = written.upper()
    if name in FORBIDDEN:
        return FORBIDDEN[name].format(name=name)
    if name in REDIS_COMMANDS:
        return messages.NOT_IN_LESSONS.format(name=name)
    return messages.UNKNOWN_COMMAND.format(name=written, hint=did_you_mean(name, allowed))


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean LPUSH?)' for the closest allowed name, or nothing when none is close."""
    close = difflib.get_close_matches(word.upper(), sorted(choices), n=1)
    return messages.DID_YOU_MEAN.format(name=close[0]) if close else ""


def option_problem(name: str, argv: list[str]) -> str | None:
    """Why an allowed command's options cannot run (a Unix time, a key pattern, an XINFO form), or None."""
    upper = [a.upper() for a in argv]
    if name in ("SET", "GETEX"):
        for option in ("EXAT", "PXAT"):
            if option in upper[3 if name == "SET" else 2 :]:
                return messages.TIMESTAMP_OPTION.format(name=name, option=option)
    if name == "XCLAIM" and "TIME" in upper[5:]:
        return messages.TIMESTAMP_OPTION.format(name=name, option="TIME")
    if name in ("SORT", "SORT_RO"):
        for word, _ in sort_options(argv):
            if word in ("BY", "GET"):
                return messages.SORT_PATTERN.format(name=name, option=word)
    if name in ("UNSUBSCRIBE", "PUNSUBSCRIBE") and len(argv) < 2:
        return messages.UNSUBSCRIBE_ALL.format(name=name)
    if name == "XINFO":
        sub = upper[1] if len(upper) > 1 else ""
        if not sub:
            return messages.XINFO_MISSING
        if sub == "HELP":
            return messages.XINFO_HELP
        if sub not in _XINFO_SUBCOMMANDS:
            hint = did_you_mean(sub, _XINFO_SUBCOMMANDS)
            return messages.XINFO_SUBCOMMAND.format(sub=argv[1], hint=hint)
        if sub == "STREAM" and "FULL" in upper[3:]:
            return messages.XINFO_FULL
    return None


def sort_options(argv: Sequence[str]) -> list[tuple[str, int]]:
    """SORT's options as (option, position), skipping their arguments the way Redis's parser does."""
    found: list[tuple[str, int]] = []
    at = 2
    while at < len(argv):
        word = argv[at].upper()
        found.append((word, at))
        if word == "LIMIT" and at + 2 < len(argv):
            at += 3
        elif word in ("BY", "GET", "STORE") and at + 1 < len(argv):
            at += 2
        else:
            at += 1
    return found


MIN_TTL_SECONDS = 60


def ttl_problem(name: str, argv: list[str]) -> str | None:
    """Expiry runs on the server's clock: why a TTL short enough to fire during a run is refused, or None."""
    seconds: list[str] = []
    if name in ("EXPIRE", "SETEX") and len(argv) > 2:
        seconds.append(argv[2])
    if name in ("PEXPIRE", "PSETEX") and len(argv) > 2:
        seconds.append(str(_number(argv[2]) / 1000))
    if name in ("SET", "GETEX"):
        upper = [a.upper() for a in argv]
        first = 3 if name == "SET" else 2
        for option, scale in (("EX", 1), ("PX", 1000)):
            if option in upper[first:]:
                at = upper.index(option, first) + 1
                if at < len(argv):
                    seconds.append(str(_number(argv[at]) / scale))
    for text in seconds:
        if _number(text) < MIN_TTL_SECONDS:
            return messages.SHORT_TTL.format(minimum=MIN_TTL_SECONDS)
    return None


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("inf")  # not a number: let Redis say what is wrong with it
