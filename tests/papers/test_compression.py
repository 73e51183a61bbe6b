"""Cached pages and API reads travel gzip-compressed to clients that ask for it."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from http import HTTPStatus

import pytest

from tests.factories import PaperFactory

pytestmark = pytest.mark.django_db

GZIP = {"Accept-Encoding": "gzip, deflate, br"}
DAY = dt.date(2026, 6, 12)


@pytest.fixture
def listed_day():
    PaperFactory.create_batch(5, listed_on=DAY)


def test_a_visitor_asking_for_gzip_gets_the_same_page_compressed(client, listed_day):
    path = f"/papers/date/{DAY}"
    plain = client.get(path)
    compressed = client.get(path, headers=GZIP)
    again = client.get(path, headers=GZIP)  # from the cache this time

    assert compressed.status_code == again.status_code == HTTPStatus.OK
    assert compressed["Content-Encoding"] == again["Content-Encoding"] == "gzip"
    assert gzip.decompress(compressed.content) == plain.content
    assert gzip.decompress(again.content) == plain.content
    assert len(compressed.content) < len(plain.content) / 3
    assert "Content-Encoding" not in plain
    for response in (plain, compressed, again):
        assert "Accept-Encoding" in response["Vary"]


def test_members_pages_are_not_compressed(client, alice, listed_day):
    client.force_login(alice)

    page = client.get(f"/papers/date/{DAY}", headers=GZIP)

    assert page.status_code == HTTPStatus.OK
    assert "Content-Encoding" not in page


def test_gzip_not_accepted_or_refused_means_plain(client, listed_day):
    for header in ({}, {"Accept-Encoding": "identity"}, {"Accept-Encoding": "br"}):
        assert "Content-Encoding" not in client.get(f"/papers/date/{DAY}", headers=header)


def test_api_reads_compress_with_an_etag_of_their_own(client, listed_day):
    url = f"/api/daily_papers?date={DAY}"
    plain = client.get(url)
    compressed = client.get(url, headers=GZIP)
    unchanged = client.get(url, headers={**GZIP, "If-None-Match": compressed["ETag"]})
    other_coding = client.get(url, headers={"If-None-Match": compressed["ETag"]})

    assert compressed["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(compressed.content)) == plain.json()
    assert compressed["ETag"] != plain["ETag"]
    assert compressed["ETag"].endswith('-gz"')
    assert unchanged.status_code == HTTPStatus.NOT_MODIFIED
    assert "Accept-Encoding" in unchanged["Vary"]
    assert other_coding.status_code == HTTPStatus.OK
    assert "Content-Encoding" not in other_coding


def test_small_answers_are_not_compressed(client):
    response = client.get("/api/daily_papers?date=2001-01-01", headers=GZIP)  # an empty list

    assert response.status_code == HTTPStatus.OK
    assert response.content == b"[]"
    assert "Content-Encoding" not in response
