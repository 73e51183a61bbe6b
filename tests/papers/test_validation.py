"""Record validation: the fast URL check accepts and refuses exactly what urlsplit did."""

from __future__ import annotations

import random
from urllib.parse import urlsplit

import pytest

from papers.services import validation


def check_url_by_urlsplit(value: str) -> bool:
    """The URL check as it was: urlsplit every value."""
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and len(value) <= 500


@pytest.mark.parametrize(
    "value",
    [
        "https://github.com/x/y",
        "http://example.org",
        "https://",
        "https:///path",
        "https://?q",
        "https://#f",
        "https://:80",
        "https://@",
        "HTTPS://EXAMPLE.ORG",
        "ftp://example.org",
        "javascript:alert(1)",
        "//example.org",
        " https://example.org",
        "\x00https://example.org",
        "https://exa\x00mple.org",
        "https://ex\tample.org",
        "https://\nexample.org",
        "https://[::1]/",
        "https://[::1/",
        "https://exämple.org",
        "https://example.org/" + "x" * 480,
        "https://example.org/" + "x" * 481,
    ],
)
def test_the_fast_url_check_agrees_with_urlsplit(value):
    try:
        expected = check_url_by_urlsplit(value)
    except ValueError:  # urlsplit refuses it outright: rejected too
        expected = False
    if validation._plain_url(value):
        assert expected is True
    try:
        validation._check_url(value, "url")
        got = True
    except validation.RecordRejected:
        got = False
    assert got == expected


def test_the_fast_url_check_agrees_with_urlsplit_on_random_strings():
    rng = random.Random(5)
    alphabet = ["h", "t", "p", "s", ":", "/", "?", "#", "@", "[", "]", ".", "a", " ", "\t", "é"]
    for _ in range(20_000):
        value = rng.choice(["https://", "http://", "", "HTTP://"]) + "".join(
            rng.choice(alphabet) for _ in range(rng.randint(0, 6))
        )
        try:
            expected = check_url_by_urlsplit(value)
        except ValueError:
            continue
        assert not validation._plain_url(value) or expected, value
