"""tutor/redis_names.py is what a real redis-server's COMMAND LIST says (regenerated and compared)."""

from __future__ import annotations

from pathlib import Path

import pytest
from redis_names_gen import TARGET, render, server_names

from tutor.redis_names import REDIS_COMMANDS, REDIS_VERSION, SUBCOMMANDS


@pytest.mark.real_redis
def test_the_command_names_module_matches_the_real_server(real_redis: str) -> None:
    version, names = server_names(real_redis)
    assert version == REDIS_VERSION, f"the module was made from Redis {REDIS_VERSION}; this server is {version}"
    assert Path(TARGET).read_text() == render(version, names)


def test_the_names_hold_commands_and_subcommands_upper_case() -> None:
    assert {"LPUSH", "XAUTOCLAIM", "PSETEX", "SORT_RO"} <= REDIS_COMMANDS
    assert "LPUHS" not in REDIS_COMMANDS
    assert SUBCOMMANDS["XINFO"] == frozenset({"CONSUMERS", "GROUPS", "HELP", "STREAM"})
