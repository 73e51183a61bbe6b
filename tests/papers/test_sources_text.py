"""The parsing helpers' fast paths give exactly what the plain versions gave."""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime

import pytest

from papers.sources.text import parse_iso_datetime, squash

_SPACE_RE = re.compile(r"\s+")


def squash_by_regex(text):
    """squash() as it was: the reference for the str.split() fast path."""
    return _SPACE_RE.sub(" ", text or "").strip()


def test_str_split_and_the_regex_agree_on_what_whitespace_is():
    differ = [
        hex(code)
        for code in range(sys.maxunicode + 1)
        if bool(_SPACE_RE.fullmatch(chr(code))) != chr(code).isspace()
    ]

    assert differ == []


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "plain",
        "  A   title\n split ",
        "tabs\tand\r\nnewlines\x0b\x0c",
        "\u00a0no-break\u2003em space\u3000ideographic\u2028line\u2029para",
        "\x1c\x1d\x1e\x1f separators \x85",
        "zero\u200bwidth is not a space",
        "trailing   ",
        "   leading",
    ],
)
def test_squash_gives_what_the_regex_gave(text):
    assert squash(text) == squash_by_regex(text)


def test_squash_of_nothing_is_empty_and_of_a_non_string_fails_as_before():
    assert squash(None) == squash_by_regex(None) == ""
    assert squash(0) == ""
    with pytest.raises(TypeError, match="expected string"):
        squash(42)


def test_parsed_timestamps_are_reused_and_failures_raise_every_time():
    first = parse_iso_datetime("2026-06-12T00:00:00.000Z")

    assert first == datetime(2026, 6, 12, tzinfo=UTC)
    assert parse_iso_datetime("2026-06-12T00:00:00.000Z") is first
    for _ in range(2):
        with pytest.raises(ValueError, match="without a time zone"):
            parse_iso_datetime("2026-06-12T00:00:00")
        with pytest.raises(ValueError, match="Invalid isoformat"):
            parse_iso_datetime("yesterday")
