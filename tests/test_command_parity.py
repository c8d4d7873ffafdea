"""The commands lessons gained (SORT, ZREMRANGEBY*, HINCRBYFLOAT, PSETEX, PEXPIRE, GETEX, XINFO, XCLAIM,
XAUTOCLAIM) run on both backends with the same trace, including their errors.

HINCRBYFLOAT uses increments exact in binary: Redis adds in long double and fakeredis in double, so
10.5 + 0.1 is '10.6' on Redis and '10.59999999999999964' on fakeredis (INCRBYFLOAT likewise).
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator

import pytest

from tutor import engine
from tutor.backend import Backend
from tutor.loader import load_text

pytestmark = pytest.mark.real_redis

LESSON = """\
title: New commands
step_through:
  actors: [app]
  watch: [nums, out, words, z, h, t, s]
  steps:
    - {actor: app, action: a, redis: RPUSH nums 3 1 2 10}
    - {actor: app, action: a, redis: SORT nums}
    - {actor: app, action: a, redis: SORT nums DESC LIMIT 0 2}
    - {actor: app, action: a, redis: SORT nums ALPHA}
    - {actor: app, action: a, redis: SORT nums STORE out}
    - {actor: app, action: a, redis: SORT_RO nums DESC}
    - {actor: app, action: a, redis: SADD words pear apple fig}
    - {actor: app, action: a, redis: SORT words ALPHA}
    - {actor: app, action: a, redis: SORT words}
    - {actor: app, action: a, redis: SORT_RO nums STORE out}
    - {actor: app, action: a, redis: ZADD z 1 a 2 b 3 c 4 d}
    - {actor: app, action: a, redis: ZREMRANGEBYSCORE z -inf (2}
    - {actor: app, action: a, redis: ZREMRANGEBYRANK z 0 0}
    - {actor: app, action: a, redis: ZRANGE z 0 -1 WITHSCORES}
    - {actor: app, action: a, redis: HINCRBYFLOAT h price 10.5}
    - {actor: app, action: a, redis: HINCRBYFLOAT h price 0.25}
    - {actor: app, action: a, redis: HINCRBYFLOAT h price abc}
    - {actor: app, action: a, redis: PSETEX t 60000 v}
    - {actor: app, action: a, redis: PEXPIRE t 120000}
    - {actor: app, action: a, redis: GETEX t EX 90}
    - {actor: app, action: a, redis: GETEX t PERSIST}
    - {actor: app, action: a, redis: GETEX missing}
    - {actor: app, action: a, redis: XINFO STREAM s}
    - {actor: app, action: a, redis: XGROUP CREATE s g $ MKSTREAM}
    - {actor: app, action: a, redis: XINFO STREAM s}
    - {actor: app, action: a, redis: XINFO GROUPS s}
    - {actor: app, action: a, redis: XINFO CONSUMERS s g}
    - {actor: app, action: a, redis: XPENDING s g}
    - {actor: app, action: a, redis: XINFO CONSUMERS s nogroup}
    - {actor: app, action: a, redis: XAUTOCLAIM s nogroup c 0 0}
    - {actor: app, action: a, redis: XCLAIM s g c 0 9-0 FORCE}
    - {actor: app, action: a, redis: XADD s 1-0 f v}
    - {actor: app, action: a, redis: XINFO STREAM s}
    - {actor: app, action: a, redis: XCLAIM s g c 0 1-0 FORCE JUSTID}
    - {actor: app, action: a, redis: XPENDING s g}
    - {actor: app, action: a, redis: XINFO CONSUMERS s g}
    - {actor: app, action: a, redis: XAUTOCLAIM h g c 0 0}
"""


@pytest.fixture
def real_backend(real_redis: str) -> Iterator[Backend]:
    backend = Backend(real_redis)
    yield backend
    backend.close()


def test_new_commands_give_the_same_trace_on_fakeredis_and_real_redis(real_backend: Backend) -> None:
    loaded = load_text(textwrap.dedent(LESSON), "lessons/new.yaml", "new")
    assert loaded.lesson is not None, loaded.problems
    walk = loaded.lesson.step_throughs[0]
    embedded = engine.run(walk, Backend(), "new")
    real = engine.run(walk, real_backend, "new")
    for ours, theirs in zip(embedded["steps"], real["steps"], strict=True):
        assert ours == theirs, f"step {ours['step']} differs: {ours['reply']} != {theirs['reply']}"
    py = {step["command"]["cli"]: step["reply"]["py"] for step in real["steps"]}
    assert py["SORT nums"] == "['1', '2', '3', '10']"
    assert py["SORT nums ALPHA"] == "['1', '10', '2', '3']"
    assert py["SORT nums STORE out"] == "4"
    assert real["steps"][4]["state"]["out"]["value"] == ["1", "2", "3", "10"]
    assert py["SORT_RO nums STORE out"] == "syntax error"
    assert py["ZRANGE z 0 -1 WITHSCORES"] == "[('c', 3.0), ('d', 4.0)]"
    assert py["HINCRBYFLOAT h price 0.25"] == "10.75"
    assert py["GETEX t PERSIST"] == "'v'"
    assert py["XCLAIM s g c 0 1-0 FORCE JUSTID"] == "['1-0']"
    assert py["XAUTOCLAIM h g c 0 0"].startswith("WRONGTYPE")
    assert real_backend.shared().keys("*") == []
