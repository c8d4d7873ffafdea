"""redis-cli parsing, writing commands back, the allowlist and where each command's keys sit."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tutor import messages
from tutor.commands import (
    COMMANDS,
    CommandError,
    _parse_quoted,
    blocking_info,
    format_cli,
    parse_cli,
    reply_options,
    spec_for,
)
from tutor.redis_names import REDIS_COMMANDS
from tutor.refusals import FORBIDDEN
from tutor.replies import quoted

# --- parse_cli: redis-cli's quoting rules ---------------------------------------------------------


def test_parse_cli_splits_on_any_run_of_whitespace() -> None:
    assert parse_cli("  LPUSH   queue\thello  ") == ["LPUSH", "queue", "hello"]


def test_parse_cli_of_a_blank_line_is_no_arguments() -> None:
    assert parse_cli("") == []
    assert parse_cli("   ") == []


def test_double_quotes_keep_spaces_in_one_argument() -> None:
    assert parse_cli('SET greeting "hello world" EX 10') == ["SET", "greeting", "hello world", "EX", "10"]


@pytest.mark.parametrize(
    ("escape", "char"),
    [("\\n", "\n"), ("\\r", "\r"), ("\\t", "\t"), ("\\b", "\b"), ("\\a", "\a")],
)
def test_double_quotes_turn_backslash_letters_into_control_characters(escape: str, char: str) -> None:
    assert parse_cli(f'SET k "a{escape}b"') == ["SET", "k", f"a{char}b"]


def test_double_quotes_read_hex_escapes() -> None:
    assert parse_cli('SET k "\\x06z"') == ["SET", "k", "\x06z"]
    assert parse_cli('SET k "\\x41\\x7e"') == ["SET", "k", "A~"]


def test_a_backslash_x_without_two_hex_digits_is_just_the_letter() -> None:
    assert parse_cli('SET k "\\xZZ"') == ["SET", "k", "xZZ"]


def test_double_quotes_unescape_quotes_and_backslashes() -> None:
    assert parse_cli('SET k "say \\"hi\\" \\\\ bye"') == ["SET", "k", 'say "hi" \\ bye']


def test_single_quotes_are_literal_except_for_an_escaped_single_quote() -> None:
    assert parse_cli("SET k 'a\\nb'") == ["SET", "k", "a\\nb"]
    assert parse_cli("SET k 'it\\'s'") == ["SET", "k", "it's"]
    assert parse_cli("SET k 'two words'") == ["SET", "k", "two words"]


def test_empty_quotes_are_an_empty_argument() -> None:
    assert parse_cli("SET k ''") == ["SET", "k", ""]
    assert parse_cli('SET k ""') == ["SET", "k", ""]


def test_a_quote_inside_a_word_is_an_ordinary_character() -> None:
    assert parse_cli("SET it's fine") == ["SET", "it's", "fine"]


@pytest.mark.parametrize("line", ['SET k "unclosed', "SET k 'unclosed", 'SET k "ends with backslash\\'])
def test_unbalanced_quotes_are_an_error_that_says_so(line: str) -> None:
    with pytest.raises(CommandError) as error:
        parse_cli(line)
    assert str(error.value) == messages.UNBALANCED_QUOTES
    assert "unbalanced quotes" in str(error.value)


@pytest.mark.parametrize("line", ['SET k "a"b', "SET k 'a'b"])
def test_a_closing_quote_must_be_followed_by_a_space(line: str) -> None:
    with pytest.raises(CommandError, match="closing quote must be followed by a space"):
        parse_cli(line)


# --- format_cli: writing arguments back so parse_cli reads the same list ---------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["LPUSH", "queue", "hello"],
        ["SET", "k", "two words"],
        ["SET", "k", "line\nbreak\r\n"],
        ["SET", "k", "tab\there"],
        ["SET", "k", "\x06\x00\x7f"],
        ["SET", "k", ""],
        ["SET", "k", 'say "hi"'],
        ["SET", "k", "back\\slash"],
        ["SET", "k", "it's"],
        ["SET", "k", "café ☕"],
        ["XADD", "s", "1-0", "f", "v"],
        ["BRPOP", "q", "0.5"],
    ],
)
def test_format_cli_round_trips_through_parse_cli(argv: list[str]) -> None:
    assert parse_cli(format_cli(argv)) == argv


def test_format_cli_leaves_plain_arguments_unquoted() -> None:
    assert format_cli(["LPUSH", "tutor:queue", "job-1"]) == "LPUSH tutor:queue job-1"


def test_format_cli_quotes_and_escapes_like_redis_cli() -> None:
    assert format_cli(["SET", "k", "a b"]) == 'SET k "a b"'
    assert format_cli(["SET", "k", "a\nb"]) == 'SET k "a\\nb"'
    assert format_cli(["SET", "k", "\x06"]) == 'SET k "\\x06"'
    assert format_cli(["SET", "k", ""]) == 'SET k ""'
    assert format_cli(["SET", "k", '"\\\t\r\x7f\x1fé']) == 'SET k "\\"\\\\\\t\\r\\x7f\\x1fé"'


def _quoted_char_by_char(text: str) -> str:
    """redis-cli's double-quoted form, one character at a time: how tutor wrote it before str.translate."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 32 or ord(ch) == 127:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",))))
def test_quoting_is_the_character_by_character_escape(text: str) -> None:
    assert quoted(text) == _quoted_char_by_char(text)
    assert parse_cli(format_cli(["SET", "k", text])) == ["SET", "k", text]


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\"'")))
def test_a_line_without_quotes_splits_as_character_by_character(line: str) -> None:
    assert parse_cli(line) == _parse_quoted(line)


@given(st.lists(st.sampled_from(["a", "\\", " ", "\t", "\u2003", "\x0b", "é", "\n", "x\\y"]), max_size=12))
def test_whitespace_and_backslashes_outside_quotes_split_as_character_by_character(parts: list[str]) -> None:
    line = "".join(parts)
    assert parse_cli(line) == _parse_quoted(line)


# --- spec_for: the allowlist -----------------------------------------------------------------------


def test_an_unknown_command_is_named_as_the_author_wrote_it_with_the_closest_allowed_name() -> None:
    with pytest.raises(CommandError) as error:
        spec_for(["LPUHS", "queue", "hello"])
    assert str(error.value) == "unknown Redis command 'LPUHS' (did you mean LPUSH?)"


@pytest.mark.parametrize(
    ("typo", "meant"), [("lpuhs", "LPUSH"), ("XAUTOCLIAM", "XAUTOCLAIM"), ("BRPOPP", "BRPOP"), ("HGETAL", "HGETALL")]
)
def test_a_typo_suggests_the_allowed_command_it_is_closest_to(typo: str, meant: str) -> None:
    with pytest.raises(CommandError) as error:
        spec_for([typo, "k"])
    assert str(error.value) == f"unknown Redis command '{typo}' (did you mean {meant}?)"


def test_a_name_close_to_no_allowed_command_gets_no_suggestion() -> None:
    with pytest.raises(CommandError) as error:
        spec_for(["FROBNICATE", "k"])
    assert str(error.value) == "unknown Redis command 'FROBNICATE'"


def test_no_real_redis_command_is_called_unknown() -> None:
    for name in sorted(REDIS_COMMANDS - set(COMMANDS)):
        with pytest.raises(CommandError) as error:
            spec_for([name, "k", "v"])
        assert "unknown Redis command" not in str(error.value), name


def test_every_allowed_and_forbidden_name_is_a_real_redis_command() -> None:
    assert set(COMMANDS) <= REDIS_COMMANDS
    assert set(FORBIDDEN) <= REDIS_COMMANDS


@pytest.mark.parametrize("name", ["BITCOUNT", "ZRANGESTORE", "LCS", "GEOADD"])
def test_a_real_command_outside_the_list_says_it_is_real_but_not_available_yet(name: str) -> None:
    with pytest.raises(CommandError) as error:
        spec_for([name, "k"])
    assert str(error.value) == messages.NOT_IN_LESSONS.format(name=name)
    assert "is a Redis command, but not one lessons can use yet" in str(error.value)


def test_commands_are_case_insensitive() -> None:
    assert spec_for(["lpush", "q", "x"]) is COMMANDS["LPUSH"]


def test_an_empty_command_is_an_error() -> None:
    with pytest.raises(CommandError, match="the command is empty"):
        spec_for([])


@pytest.mark.parametrize("name", ["FLUSHALL", "KEYS", "SCAN", "CONFIG", "EVAL"])
def test_commands_that_reach_beyond_the_run_are_forbidden(name: str) -> None:
    with pytest.raises(CommandError) as error:
        spec_for([name, "*"])
    assert str(error.value) == (
        f"'{name}' is not available in lessons: it reaches beyond the lesson's own keys or the server"
    )


def test_sharded_subscribe_is_forbidden_and_plain_subscribe_suggested() -> None:
    with pytest.raises(CommandError) as error:
        spec_for(["SSUBSCRIBE", "news"])
    assert str(error.value).startswith("'SSUBSCRIBE' is not available in lessons")
    assert "use SUBSCRIBE and UNSUBSCRIBE" in str(error.value)


@pytest.mark.parametrize("name", ["SUBSCRIBE", "UNSUBSCRIBE", "PSUBSCRIBE", "PUNSUBSCRIBE"])
def test_subscribe_commands_are_allowed_and_namespace_every_channel(name: str) -> None:
    argv = [name, "news", "sport"]
    spec = spec_for(argv)
    assert spec.keys(argv) == []
    assert spec.channels is not None and spec.channels(argv) == [1, 2]


@pytest.mark.parametrize("name", ["UNSUBSCRIBE", "PUNSUBSCRIBE"])
def test_leaving_every_channel_without_naming_them_is_refused(name: str) -> None:
    with pytest.raises(CommandError) as error:
        spec_for([name])
    assert str(error.value) == messages.UNSUBSCRIBE_ALL.format(name=name)


@pytest.mark.parametrize("argv", [["TIME"], ["TTL", "k"], ["PTTL", "k"], ["EXPIRETIME", "k"]])
def test_commands_that_read_the_wall_clock_are_forbidden_for_that_reason(argv: list[str]) -> None:
    with pytest.raises(CommandError) as error:
        spec_for(argv)
    assert str(error.value) == messages.FORBIDDEN_CLOCK.format(name=argv[0])
    assert "depends on the server's wall clock, not on lesson time" in str(error.value)


@pytest.mark.parametrize("argv", [["EXPIREAT", "k", "1"], ["PEXPIREAT", "k", "1"]])
def test_commands_that_take_a_unix_time_are_forbidden_for_that_reason(argv: list[str]) -> None:
    with pytest.raises(CommandError) as error:
        spec_for(argv)
    assert str(error.value) == messages.FORBIDDEN_TIMESTAMP.format(name=argv[0])


@pytest.mark.parametrize("argv", [["SPOP", "s"], ["SRANDMEMBER", "s"], ["HRANDFIELD", "h"], ["ZRANDMEMBER", "z"]])
def test_commands_that_pick_at_random_are_forbidden_for_that_reason(argv: list[str]) -> None:
    with pytest.raises(CommandError) as error:
        spec_for(argv)
    assert str(error.value) == messages.FORBIDDEN_CHANCE.format(name=argv[0])
    assert "picks at random" in str(error.value)


@pytest.mark.parametrize("name", ["HELLO", "AUTH", "SELECT", "QUIT", "RESET"])
def test_commands_that_change_the_connection_are_forbidden_for_that_reason(name: str) -> None:
    with pytest.raises(CommandError) as error:
        spec_for([name, "x"])
    assert str(error.value) == messages.FORBIDDEN_CONNECTION.format(name=name)


@pytest.mark.parametrize(
    "argv",
    [
        ["PSETEX", "k", "60000", "v"],
        ["PEXPIRE", "k", "60000"],
        ["GETEX", "k", "EX", "60"],
        ["GETEX", "k", "PX", "90000"],
        ["GETEX", "k"],
        ["GETEX", "k", "PERSIST"],
        ["SET", "k", "EXAT"],  # the value is the word EXAT, not the option
    ],
)
def test_millisecond_expiries_of_a_minute_or_more_are_allowed(argv: list[str]) -> None:
    assert spec_for(argv) is COMMANDS[argv[0]]


@pytest.mark.parametrize(
    "argv",
    [["PSETEX", "k", "59999", "v"], ["PEXPIRE", "k", "100"], ["GETEX", "k", "EX", "5"], ["GETEX", "k", "PX", "1"]],
)
def test_millisecond_expiries_under_a_minute_follow_the_ttl_rule(argv: list[str]) -> None:
    with pytest.raises(CommandError) as error:
        spec_for(argv)
    assert str(error.value) == messages.SHORT_TTL.format(minimum=60)


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["SET", "k", "v", "EXAT", "9999999999"], "EXAT"),
        (["SET", "k", "v", "pxat", "9999999999000"], "PXAT"),
        (["GETEX", "k", "EXAT", "9999999999"], "EXAT"),
        (["XCLAIM", "s", "g", "c", "0", "1-0", "TIME", "1"], "TIME"),
    ],
)
def test_options_that_take_a_unix_time_are_refused(argv: list[str], option: str) -> None:
    with pytest.raises(CommandError) as error:
        spec_for(argv)
    assert str(error.value) == messages.TIMESTAMP_OPTION.format(name=argv[0], option=option)


@pytest.mark.parametrize(
    ("line", "option"), [("SORT k BY w_*", "BY"), ("SORT k LIMIT 0 2 GET o_*", "GET"), ("SORT_RO k get #", "GET")]
)
def test_sort_with_a_key_pattern_is_refused(line: str, option: str) -> None:
    with pytest.raises(CommandError) as error:
        spec_for(parse_cli(line))
    assert str(error.value) == messages.SORT_PATTERN.format(name=parse_cli(line)[0], option=option)


@pytest.mark.parametrize("line", ["SORT k", "SORT k DESC ALPHA LIMIT 0 2 STORE out", "SORT_RO k ALPHA"])
def test_sort_on_the_keys_own_values_is_allowed(line: str) -> None:
    assert spec_for(parse_cli(line)) is COMMANDS[parse_cli(line)[0].upper()]


@pytest.mark.parametrize("line", ["XINFO STREAM s", "XINFO GROUPS s", "xinfo consumers s g"])
def test_xinfo_stream_groups_and_consumers_are_allowed(line: str) -> None:
    assert spec_for(parse_cli(line)) is COMMANDS["XINFO"]


def test_xinfo_help_is_refused_with_its_reason() -> None:
    with pytest.raises(CommandError) as error:
        spec_for(["XINFO", "HELP"])
    assert str(error.value) == messages.XINFO_HELP


def test_an_unknown_xinfo_subcommand_suggests_the_closest() -> None:
    with pytest.raises(CommandError) as error:
        spec_for(["XINFO", "CONSUMER", "s", "g"])
    assert str(error.value) == messages.XINFO_SUBCOMMAND.format(sub="CONSUMER", hint=" (did you mean CONSUMERS?)")


def test_xinfo_without_a_subcommand_says_which_there_are() -> None:
    with pytest.raises(CommandError) as error:
        spec_for(["XINFO"])
    assert str(error.value) == messages.XINFO_MISSING


def test_xinfo_stream_full_is_refused_for_its_wall_clock_times() -> None:
    with pytest.raises(CommandError) as error:
        spec_for(["XINFO", "STREAM", "s", "FULL"])
    assert str(error.value) == messages.XINFO_FULL


def test_forbidden_is_checked_case_insensitively() -> None:
    with pytest.raises(CommandError, match="'FLUSHALL' is not available"):
        spec_for(["flushall"])


def test_xadd_with_star_id_is_refused_with_an_explicit_id_suggested() -> None:
    with pytest.raises(CommandError) as error:
        spec_for(["XADD", "s", "*", "f", "v"])
    assert str(error.value) == messages.XADD_STAR
    assert "give an explicit ID such as 1-0" in str(error.value)


def test_xadd_with_explicit_id_is_allowed() -> None:
    assert spec_for(["XADD", "s", "1-0", "f", "v"]) is COMMANDS["XADD"]


def test_xreadgroup_block_is_allowed_and_waits_on_its_streams_for_its_group() -> None:
    argv = ["XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">"]
    assert spec_for(argv) is COMMANDS["XREADGROUP"]
    info = blocking_info(argv)
    assert info is not None
    assert (info.keys, info.timeout_seconds, info.kind, info.group) == ([7], 0.0, "stream", ("g", "c"))


def test_a_stream_named_block_is_not_the_block_option() -> None:
    assert blocking_info(["XREAD", "STREAMS", "block", "0"]) is None
    assert blocking_info(["XREADGROUP", "GROUP", "g", "c", "STREAMS", "BLOCK", ">"]) is None


def test_allowlist_and_forbidden_list_do_not_overlap() -> None:
    assert set(COMMANDS).isdisjoint(FORBIDDEN)


# --- key positions -----------------------------------------------------------------------------------


def keys(argv: list[str]) -> list[str]:
    """The arguments the engine would move into the run's namespace."""
    return [argv[i] for i in spec_for(argv).keys(argv)]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("GET k", ["k"]),
        ("LPUSH queue a b c", ["queue"]),
        ("BRPOP q1 q2 0", ["q1", "q2"]),
        ("BLPOP only 5", ["only"]),
        ("BLMOVE src dst LEFT RIGHT 0", ["src", "dst"]),
        ("LMOVE src dst LEFT RIGHT", ["src", "dst"]),
        ("RPOPLPUSH src dst", ["src", "dst"]),
        ("BRPOPLPUSH src dst 0", ["src", "dst"]),
        ("LMPOP 2 a b LEFT COUNT 3", ["a", "b"]),
        ("LMPOP 1 a RIGHT", ["a"]),
        ("BLMPOP 0 2 a b LEFT", ["a", "b"]),
        ("BLMPOP 1.5 3 a b c RIGHT COUNT 2", ["a", "b", "c"]),
        ("BZMPOP 0 2 z1 z2 MIN", ["z1", "z2"]),
        ("XREAD STREAMS s 0", ["s"]),
        ("XREAD COUNT 2 BLOCK 0 STREAMS s1 s2 0 $", ["s1", "s2"]),
        ("xread block 0 streams s1 s2 0 0", ["s1", "s2"]),
        ("MSET a 1 b 2 c 3", ["a", "b", "c"]),
        ("MGET a b c", ["a", "b", "c"]),
        ("DEL a b", ["a", "b"]),
        ("RENAME old new", ["old", "new"]),
        ("XGROUP CREATE s g 0 MKSTREAM", ["s"]),
        ("XCLAIM s g c 0 1-0 2-0 JUSTID", ["s"]),
        ("XAUTOCLAIM s g c 60000 0-0 COUNT 5", ["s"]),
        ("XINFO STREAM s", ["s"]),
        ("XINFO CONSUMERS s g", ["s"]),
        ("SORT k", ["k"]),
        ("SORT k ALPHA STORE dest", ["k", "dest"]),
        ("SORT k LIMIT 0 5 STORE d1 STORE d2", ["k", "d1", "d2"]),
        ("SORT k STORE", ["k"]),
        ("ZREMRANGEBYSCORE z -inf 5", ["z"]),
        ("ZREMRANGEBYRANK z 0 1", ["z"]),
        ("HINCRBYFLOAT h f 1.5", ["h"]),
        ("PSETEX k 60000 v", ["k"]),
        ("PING", []),
        ("PUBLISH news hello", []),
    ],
)
def test_key_positions(line: str, expected: list[str]) -> None:
    assert keys(parse_cli(line)) == expected


def test_numkeys_larger_than_the_arguments_stops_at_the_end() -> None:
    assert keys(["LMPOP", "5", "a", "b"]) == ["a", "b"]


def test_a_numkeys_that_is_not_a_number_gives_no_keys() -> None:
    assert keys(["LMPOP", "two", "a", "b", "LEFT"]) == []


def test_publish_channel_is_namespaced_as_a_channel_not_a_key() -> None:
    argv = ["PUBLISH", "news", "hello"]
    spec = spec_for(argv)
    assert spec.keys(argv) == []
    assert spec.channels is not None
    assert spec.channels(argv) == [1]


# --- blocking specs ----------------------------------------------------------------------------------


def test_blocking_info_of_brpop() -> None:
    info = blocking_info(["BRPOP", "q1", "q2", "2.5"])
    assert info is not None
    assert (info.keys, info.timeout_seconds, info.kind) == ([1, 2], 2.5, "list")


def test_blmove_waits_only_on_its_source() -> None:
    info = blocking_info(["BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"])
    assert info is not None
    assert (info.keys, info.timeout_seconds, info.kind) == ([1], 0.0, "list")


def test_blmpop_takes_its_timeout_first() -> None:
    info = blocking_info(["BLMPOP", "3", "2", "a", "b", "LEFT"])
    assert info is not None
    assert (info.keys, info.timeout_seconds) == ([3, 4], 3.0)


def test_bzpopmin_waits_for_a_sorted_set() -> None:
    info = blocking_info(["BZPOPMIN", "z", "0"])
    assert info is not None
    assert info.kind == "zset"


def test_xread_block_is_in_milliseconds() -> None:
    info = blocking_info(["XREAD", "BLOCK", "1500", "STREAMS", "s", "$"])
    assert info is not None
    assert (info.keys, info.timeout_seconds, info.kind, info.group) == ([4], 1.5, "stream", None)


def test_xread_without_block_and_plain_commands_never_block() -> None:
    assert blocking_info(["XREAD", "STREAMS", "s", "0"]) is None
    assert blocking_info(["LPUSH", "q", "x"]) is None
    assert blocking_info(["RPOP", "q"]) is None


@pytest.mark.parametrize("timeout", ["-1", "soon", "nan", "0x1", "1e3", "inf", ""])
def test_a_blocking_command_whose_timeout_is_not_a_plain_number_is_refused(timeout: str) -> None:
    info = blocking_info(["BRPOP", "q", timeout])
    assert info is not None
    assert info.timeout_seconds is None
    with pytest.raises(CommandError) as error:
        spec_for(["BRPOP", "q", timeout])
    assert str(error.value) == messages.BAD_TIMEOUT.format(name="BRPOP")


@pytest.mark.parametrize(
    "argv",
    [
        ["XREAD", "BLOCK", "0x10", "STREAMS", "s", "$"],
        ["BLMPOP", "1e1", "1", "q", "LEFT"],
        ["BLMOVE", "a", "b", "LEFT", "RIGHT", "-0.5"],
    ],
)
def test_every_blocking_command_refuses_an_unreadable_timeout(argv: list[str]) -> None:
    with pytest.raises(CommandError, match="needs its timeout as a plain number"):
        spec_for(argv)


@pytest.mark.parametrize(("timeout", "seconds"), [("0", 0.0), ("5", 5.0), ("0.25", 0.25)])
def test_plain_decimal_timeouts_are_read(timeout: str, seconds: float) -> None:
    info = blocking_info(["BRPOP", "q", timeout])
    assert info is not None
    assert info.timeout_seconds == seconds
    assert spec_for(["BRPOP", "q", timeout]) is COMMANDS["BRPOP"]


# --- reply callbacks ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "options"),
    [
        ("ZRANGE z 0 -1 WITHSCORES", {"withscores": True}),
        ("XCLAIM s g c 0 1-0 JUSTID", {"parse_justid": True}),
        ("XAUTOCLAIM s g c 0 0-0 JUSTID", {"parse_justid": True}),
        ("XCLAIM s g c 0 1-0", {}),
        ("XPENDING s g - + 10", {"parse_detail": True}),
        ("XPENDING s g IDLE 5 - + 10 c", {"parse_detail": True}),
        ("XPENDING s g", {}),
    ],
)
def test_reply_options_are_those_redis_pys_own_methods_pass(line: str, options: dict[str, bool]) -> None:
    assert reply_options(parse_cli(line)) == options
