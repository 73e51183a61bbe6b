"""Local files: every recorded format is recognised; every broken file is a clear SourceError."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from papers.sources import files
from papers.sources.records import Author, PaperRecord, RejectedRecord, SourceError
from tests.conftest import ARXIV_ATOM, ARXIV_RSS, FIXTURES, HF_DAILY, HF_PAPER, HF_SEARCH

ARXIV_ATOM_2026 = FIXTURES / "arxiv_api_query_2026_format.xml"


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def read_error(path: Path) -> str:
    """The message read_file raises for `path`, which must name the file first."""
    with pytest.raises(SourceError) as caught:
        files.read_file(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    return message


# --- every recorded sample ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "count", "source", "first_id"),
    [
        (HF_DAILY, 30, "hf", "2606.00467"),
        (HF_PAPER, 1, "hf", "2608.09888"),
        (HF_SEARCH, 9, "hf", "2404.04487"),
        (ARXIV_ATOM, 10, "arxiv", "1201.4869"),
        (ARXIV_ATOM_2026, 3, "arxiv", "2604.21935"),
        (ARXIV_RSS, 3, "arxiv-rss", "2604.21935"),
    ],
    ids=lambda value: value.name if isinstance(value, Path) else None,
)
def test_every_sample_is_recognised_and_read(path, count, source, first_id):
    items = files.read_file(path)

    assert len(items) == count
    assert all(isinstance(item, PaperRecord) for item in items)
    assert {item.source for item in items} == {source}
    assert items[0].arxiv_id == first_id


def test_every_fixture_file_is_readable():
    for path in sorted(FIXTURES.iterdir()):
        if path.suffix in (".json", ".xml"):
            assert files.read_file(path), path


def test_flat_paper_info_object_is_one_record_with_its_community_data():
    (paper,) = files.read_file(HF_PAPER)

    assert paper.arxiv_id == "2608.09888"
    assert paper.title == "BDH-CQ: In-Context Learning with Recurrent Latent Reasoning"
    assert paper.abstract.startswith("We introduce BDH-CQ, a reasoning model")
    assert paper.authors[:2] == [
        Author(name="Björn Engdahl", hf_user="bjornengdahl"),
        Author(name="Adrian Kosowski", hf_user="dxtrous"),
    ]
    assert len(paper.authors) == 9
    assert paper.published_at == datetime(2026, 8, 10, tzinfo=UTC)
    assert paper.listed_on == date(2026, 8, 11)
    assert paper.source_upvotes == 782
    assert paper.github_repo == "https://github.com/pathwaycom/arc-task-gen"
    assert paper.github_stars == 11184
    assert paper.organization["name"] == "pathwaycom"
    assert paper.source_submitter["user"] == "janchorowski"
    # The flat object has no list-entry fields.
    assert paper.source_comments is None
    assert paper.thumbnail_url is None


def test_search_results_have_no_listing_date():
    items = files.read_file(HF_SEARCH)

    assert items[0].title == "KazQAD: Kazakh Open-Domain Question Answering Dataset"
    assert "\n" not in items[0].abstract
    assert all(item.listed_on is None for item in items)


def test_parse_bytes_reads_without_a_path(fixture_bytes):
    assert len(files.parse_bytes(fixture_bytes(HF_DAILY))) == 30
    assert len(files.parse_bytes(fixture_bytes(ARXIV_RSS))) == 3


def test_a_byte_order_mark_and_leading_blank_lines_are_fine(tmp_path, fixture_bytes):
    path = write(tmp_path, "bom.json", b"\xef\xbb\xbf\n\n  " + fixture_bytes(HF_PAPER))

    assert [item.arxiv_id for item in files.read_file(path)] == ["2608.09888"]


def test_rss_with_a_long_preamble_is_still_rss(tmp_path, fixture_bytes):
    preamble = b"<!-- " + b"x" * 3000 + b" -->\n"
    path = write(tmp_path, "rss.xml", preamble + fixture_bytes(ARXIV_RSS))

    items = files.read_file(path)

    assert [item.source for item in items] == ["arxiv-rss"] * 3


def test_an_atom_feed_that_mentions_rss_is_still_atom(tmp_path, fixture_bytes):
    data = fixture_bytes(ARXIV_ATOM_2026).replace(b"<entry>", b"<!-- was <rss> once --><entry>", 1)
    path = write(tmp_path, "atom.xml", data)

    items = files.read_file(path)

    assert len(items) == 3
    assert {item.source for item in items} == {"arxiv"}


# --- broken files ---------------------------------------------------------------------------


def test_missing_file(tmp_path):
    assert "no such file" in read_error(tmp_path / "nope.json")


def test_a_directory(tmp_path):
    assert "is a directory" in read_error(tmp_path)


def test_a_path_through_a_file(tmp_path):
    path = write(tmp_path, "file.json", "[]") / "child.json"

    assert "cannot be read" in read_error(path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file(tmp_path):
    path = write(tmp_path, "secret.json", "[]")
    path.chmod(0)

    assert "permission denied" in read_error(path)


@pytest.mark.parametrize(
    "data", [b"", b"  \n\t\r\n", b"\xef\xbb\xbf"], ids=["empty", "blank", "bom"]
)
def test_empty_file(tmp_path, data):
    assert "empty" in read_error(write(tmp_path, "empty.json", data))


def test_truncated_json(tmp_path, fixture_bytes):
    data = fixture_bytes(HF_DAILY)
    path = write(tmp_path, "cut.json", data[: len(data) // 2])

    message = read_error(path)

    assert "not valid JSON" in message
    assert "line" in message


def test_an_html_error_page(tmp_path):
    page = "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head><body/></html>"

    assert "HTML page" in read_error(write(tmp_path, "page.json", page))


def test_an_xhtml_page(tmp_path):
    page = (
        '<?xml version="1.0"?>\n'
        + "<!-- "
        + "padding " * 40
        + "-->\n"
        + '<html xmlns="http://www.w3.org/1999/xhtml"><body>Maintenance</body></html>'
    )

    assert "HTML page" in read_error(write(tmp_path, "page.xml", page))


def test_a_json_error_object(tmp_path):
    message = read_error(write(tmp_path, "error.json", '{"error": "x"}'))

    assert "error" in message
    assert "'x'" in message


def test_a_json_object_that_is_not_a_paper(tmp_path):
    message = read_error(write(tmp_path, "object.json", '{"papers": []}'))

    assert "a JSON object where an array of papers belongs" in message


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("42", "number"),
        ("-1.5", "number"),
        ('"papers"', "string"),
        ("null", "null"),
        ("true", "boolean"),
    ],
)
def test_a_json_scalar(tmp_path, text, kind):
    message = read_error(write(tmp_path, "scalar.json", text))

    assert f"a JSON {kind} where an array of papers belongs" in message


def test_binary_garbage(tmp_path):
    data = bytes(range(256)) * 4

    assert "unknown format" in read_error(write(tmp_path, "garbage.bin", data))


def test_binary_garbage_that_starts_like_json(tmp_path):
    data = b"[\x00\xff\xfe" + bytes(range(256))

    assert "not valid JSON" in read_error(write(tmp_path, "garbage.json", data))


def test_json_that_is_not_utf8(tmp_path):
    data = '[{"paper": {"id": "2401.12345", "title": "Café"}}]'.encode("latin-1")

    assert "not UTF-8" in read_error(write(tmp_path, "latin1.json", data))


def test_absurdly_deep_json(tmp_path):
    assert "nested too deeply" in read_error(write(tmp_path, "deep.json", "[" * 100_000))


def test_broken_xml(tmp_path, fixture_bytes):
    data = fixture_bytes(ARXIV_ATOM)[:5000]

    assert "not well-formed XML" in read_error(write(tmp_path, "cut.xml", data))


def test_xml_that_is_neither_atom_nor_rss(tmp_path):
    message = read_error(write(tmp_path, "other.xml", "<catalog><book/></catalog>"))

    assert "<catalog>" in message


def test_plain_text(tmp_path):
    assert "unknown format" in read_error(write(tmp_path, "notes.txt", "some notes\n"))


# --- one bad entry among good ones ----------------------------------------------------------


def test_bad_entries_are_rejected_and_the_good_ones_kept(tmp_path, fixture_bytes):
    daily = json.loads(fixture_bytes(HF_DAILY))
    broken = json.loads(json.dumps(daily[1]))
    broken["paper"]["ai_keywords"] = "keyword soup"
    entries = [daily[0], "a stray string", broken, 17, daily[2]]
    path = write(tmp_path, "mixed.json", json.dumps(entries))

    items = files.read_file(path)

    assert [type(item) for item in items] == [
        PaperRecord,
        RejectedRecord,
        RejectedRecord,
        RejectedRecord,
        PaperRecord,
    ]
    assert items[0].arxiv_id == "2606.00467"
    assert items[4].arxiv_id == "2606.13594"
    assert items[1].ref == "entry 1"
    assert "expected an object, got str" in items[1].reason
    assert items[2].ref == "2606.12730"
    assert "ai_keywords is not a list of strings" in items[2].reason
    assert "got int" in items[3].reason


def test_an_empty_array_is_no_papers(tmp_path):
    assert files.read_file(write(tmp_path, "none.json", "[]")) == []


def test_escaped_nul_characters_are_dropped_and_the_papers_kept(tmp_path):
    items = json.loads(HF_DAILY.read_text())[:2]
    items[0]["paper"]["title"] = "Null\u0000 byte"
    items[1]["paper"]["summary"] = "A backslash then u0000 stays: \\u0000."
    records = files.read_file(write(tmp_path, "nul.json", json.dumps(items)))

    assert records[0].title == "Null byte"
    assert records[1].abstract == "A backslash then u0000 stays: \\u0000."
