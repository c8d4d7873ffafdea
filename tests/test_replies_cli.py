"""A sorted-set score is shown as redis-cli shows Redis 7.0's reply: all the digits, never rounded to six."""

from __future__ import annotations

from tutor.replies import cli_text


def test_a_unix_time_score_keeps_its_digits() -> None:
    """ZRANGE ... WITHSCORES of a delivery time: redis-cli on 7.0.15 prints "1735732800.25"."""
    assert cli_text(["tag", 1735732800.25]) == '1) "tag"\n2) "1735732800.25"'


def test_scores_are_printed_with_seventeen_significant_digits_as_redis_does() -> None:
    """Checked with redis-cli on redis-server 7.0.15: ZADD z 0.1 a 3 c; ZRANGE z 0 -1 WITHSCORES."""
    assert cli_text(0.1) == '"0.10000000000000001"'
    assert cli_text(3.0) == '"3"'
