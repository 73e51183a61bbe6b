"""Hostile XML: entity bombs and external entities are refused at once, never expanded."""

from __future__ import annotations

import time

import pytest

from papers.sources import arxiv, files
from papers.sources.records import SourceError

ATOM_OPEN = '<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>http://arxiv.org/abs/2401.12345v1</id><title>'
ATOM_CLOSE = "</title></entry></feed>"
RSS_OPEN = '<rss version="2.0"><channel><item><guid>oai:arXiv.org:2401.12345v1</guid><title>'
RSS_CLOSE = "</title></item></channel></rss>"

LAUGHS = "\n".join(
    [' <!ENTITY lol0 "lol">']
    + [f' <!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10)]
)


def billion_laughs(root: str) -> str:
    opening, closing = (ATOM_OPEN, ATOM_CLOSE) if root == "feed" else (RSS_OPEN, RSS_CLOSE)
    return f'<?xml version="1.0"?>\n<!DOCTYPE {root} [\n{LAUGHS}\n]>\n{opening}&lol9;{closing}'


def quadratic_blowup(root: str) -> str:
    opening, closing = (ATOM_OPEN, ATOM_CLOSE) if root == "feed" else (RSS_OPEN, RSS_CLOSE)
    big = "x" * 100_000
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE {root} [<!ENTITY big "{big}">]>\n'
        f"{opening}{'&big;' * 20_000}{closing}"
    )


def external_entity(root: str, system_id: str) -> str:
    opening, closing = (ATOM_OPEN, ATOM_CLOSE) if root == "feed" else (RSS_OPEN, RSS_CLOSE)
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE {root} [<!ENTITY xxe SYSTEM "{system_id}">]>\n'
        f"{opening}&xxe;{closing}"
    )


def external_parameter_entity(root: str, system_id: str) -> str:
    opening, closing = (ATOM_OPEN, ATOM_CLOSE) if root == "feed" else (RSS_OPEN, RSS_CLOSE)
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE {root} '
        f'[<!ENTITY % remote SYSTEM "{system_id}"> %remote;]>\n'
        f"{opening}title{closing}"
    )


def external_dtd(root: str, system_id: str) -> str:
    opening, closing = (ATOM_OPEN, ATOM_CLOSE) if root == "feed" else (RSS_OPEN, RSS_CLOSE)
    return f'<?xml version="1.0"?>\n<!DOCTYPE {root} SYSTEM "{system_id}">\n{opening}t{closing}'


def via_parse_atom(data: bytes) -> object:
    return arxiv.parse_atom(data)


def via_parse_rss(data: bytes) -> object:
    return arxiv.parse_rss(data)


def via_files(data: bytes) -> object:
    return files.parse_bytes(data)


# Each parser gets the document shaped for it (and files gets both shapes).
PARSERS = [
    pytest.param(via_parse_atom, "feed", id="parse_atom"),
    pytest.param(via_parse_rss, "rss", id="parse_rss"),
    pytest.param(via_files, "feed", id="files-atom"),
    pytest.param(via_files, "rss", id="files-rss"),
]


def assert_refused_quickly(parse, document: str) -> str:
    started = time.monotonic()
    with pytest.raises(SourceError) as caught:
        parse(document.encode("utf-8"))
    elapsed = time.monotonic() - started
    assert elapsed < 1.0
    message = str(caught.value)
    assert "refused unsafe XML" in message
    return message


@pytest.mark.parametrize(("parse", "root"), PARSERS)
def test_billion_laughs_is_refused_quickly(parse, root):
    assert_refused_quickly(parse, billion_laughs(root))


@pytest.mark.parametrize(("parse", "root"), PARSERS)
def test_quadratic_blowup_is_refused_quickly(parse, root):
    assert_refused_quickly(parse, quadratic_blowup(root))


@pytest.mark.parametrize(("parse", "root"), PARSERS)
def test_external_file_entity_is_refused_and_never_read(parse, root):
    message = assert_refused_quickly(parse, external_entity(root, "file:///etc/passwd"))

    assert "root:" not in message


@pytest.mark.parametrize(("parse", "root"), PARSERS)
@pytest.mark.parametrize(
    "shape", [external_entity, external_parameter_entity, external_dtd], ids=lambda f: f.__name__
)
def test_external_http_entity_is_refused_and_never_fetched(httpserver, parse, root, shape):
    httpserver.expect_request("/xxe").respond_with_data("<!ENTITY leak 'fetched'>")
    url = httpserver.url_for("/xxe")

    assert_refused_quickly(parse, shape(root, url))

    time.sleep(0.05)  # a request on its way would have arrived by now
    assert httpserver.log == []


def test_a_hostile_file_on_disk_names_the_file(tmp_path):
    path = tmp_path / "bomb.xml"
    path.write_text(billion_laughs("feed"), encoding="utf-8")

    started = time.monotonic()
    with pytest.raises(SourceError, match="refused unsafe XML") as caught:
        files.read_file(path)

    assert time.monotonic() - started < 1.0
    assert str(caught.value).startswith(f"{path}: ")
