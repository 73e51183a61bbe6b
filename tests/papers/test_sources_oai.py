"""The OAI-PMH parser, on real recorded arXiv answers and on hostile variants of them."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime

import pytest

from papers.sources import oai
from papers.sources.records import PaperRecord, RejectedRecord, SourceError
from tests.conftest import FIXTURES
from tests.papers.test_hostile_xml import LAUGHS

OAI_DIR = FIXTURES / "oai"
RAW_PAGE = OAI_DIR / "listrecords_arXivRaw_token_2015-01-06.xml"
ARXIV_PAGE = OAI_DIR / "listrecords_arXiv_token_2015-03-26.xml"
LAST_PAGE = OAI_DIR / "listrecords_arXiv_2015-01-01_2015-01-03.xml"
SET_PAGE = OAI_DIR / "listrecords_arXiv_hep-th_2017-12-14.xml"
BAD_TOKEN = OAI_DIR / "error_badResumptionToken_2015-06-23.xml"
NO_MATCH = OAI_DIR / "error_noRecordsMatch_2015-06-23.xml"


def records(page: oai.OaiPage) -> dict[str, PaperRecord]:
    return {r.arxiv_id: r for r in page.items if isinstance(r, PaperRecord)}


def test_arxiv_raw_page_gives_every_record_and_the_next_token():
    page = oai.parse_page(RAW_PAGE.read_bytes())

    assert list(records(page)) == [
        "0704.0471",
        "0704.0716",
        "0704.0874",
        "0704.1109",
        "0704.1114",
        "0704.1586",
    ]
    assert (page.token, page.cursor, page.complete_size) == ("726959|1001", 0, 58011)
    assert page.deleted == []


def test_arxiv_raw_record_dates_its_first_and_latest_version():
    paper = records(oai.parse_page(RAW_PAGE.read_bytes()))["0704.0716"]

    assert paper.source == "oai"
    assert paper.version == 4
    assert paper.published_at == datetime(2007, 4, 5, 12, 45, 3, tzinfo=UTC)
    assert paper.source_updated_at == datetime(2008, 11, 14, 9, 7, 25, tzinfo=UTC)
    assert paper.title == "Limit distributions and scaling functions"
    assert (paper.primary_category, paper.categories) == ("math-ph", ["math-ph", "math.MP"])
    assert [a.name for a in paper.authors] == ["Christoph Richard"]


def test_arxiv_raw_author_line_and_wrapped_title_and_entities():
    paper = records(oai.parse_page(RAW_PAGE.read_bytes()))["0704.0471"]

    assert [a.name for a in paper.authors] == ["D.V. Shetty", "S.J. Yennello", "G.A. Souliotis"]
    assert paper.title == (
        "Density dependence of the symmetry energy and the nuclear equation of state: "
        "A Dynamical and Statistical model perspective"
    )
    assert 'extremely " stiff " and " soft "' in paper.abstract
    assert paper.abstract.startswith("The density dependence")
    rosa = records(oai.parse_page(RAW_PAGE.read_bytes()))["0704.1109"]
    assert [a.name for a in rosa.authors] == ["Valeria M. Rosa", "Patricio S. letelier"]


def test_arxiv_format_page_structured_authors_and_the_primary_first():
    page = oai.parse_page(ARXIV_PAGE.read_bytes())
    paper = records(page)["0712.4079"]

    assert (page.token, page.cursor, page.complete_size) == ("788421|43001", 42000, 1024354)
    assert [a.name for a in paper.authors] == [
        "Mauro M. Doria",
        "Antonio R. de C. Romaguera",
        "F. M. Peeters",
    ]
    assert paper.primary_category == "cond-mat.supr-con"
    assert paper.categories == ["cond-mat.supr-con", "cond-mat.mes-hall", "cond-mat.mtrl-sci"]
    assert paper.published_at == datetime(2007, 12, 25, tzinfo=UTC)
    assert paper.version is None  # the arXiv format numbers no versions


def test_last_page_has_no_token_and_keeps_old_style_ids_and_affiliations():
    page = oai.parse_page(LAST_PAGE.read_bytes())
    papers = records(page)

    assert page.token is None
    assert list(papers) == ["1412.8544", "hep-th/9504118"]
    assert papers["1412.8544"].authors[0].affiliations == ("Radboud Universiteit",)
    assert "'{\\it cellular network}'" in papers["hep-th/9504118"].abstract
    assert papers["hep-th/9504118"].published_at == datetime(1995, 4, 24, tzinfo=UTC)


def test_updated_date_is_the_latest_version():
    paper = records(oai.parse_page(SET_PAGE.read_bytes()))["1412.8323"]

    assert paper.source_updated_at == datetime(2017, 12, 13, tzinfo=UTC)
    assert paper.categories[0] == "quant-ph"
    assert "physics.hist-ph" in paper.categories


def test_no_records_match_is_an_empty_complete_page():
    page = oai.parse_page(NO_MATCH.read_bytes())

    assert (page.items, page.token, page.complete_size) == ([], None, 0)


def test_a_bad_resumption_token_is_an_error_with_its_code():
    with pytest.raises(oai.OaiError) as caught:
        oai.parse_page(BAD_TOKEN.read_bytes())

    assert caught.value.code == "badResumptionToken"
    assert "illegal for this repository" in str(caught.value)


def test_resuming_sends_the_token_alone():
    first = oai.list_records_params(
        token=None,
        metadata_prefix="arXiv",
        since=date(2015, 1, 1),
        until=None,
        set_spec="cs",
    )
    again = oai.list_records_params(
        token="788421|43001", metadata_prefix="arXiv", since=None, until=None, set_spec="cs"
    )

    assert first == {
        "verb": "ListRecords",
        "metadataPrefix": "arXiv",
        "from": "2015-01-01",
        "set": "cs",
    }
    assert again == {"verb": "ListRecords", "resumptionToken": "788421|43001"}


# Hostile variants, each made from a real page by one change.


def test_a_deleted_record_is_reported_not_parsed():
    text = RAW_PAGE.read_text().replace(
        "<header>\n <identifier>oai:arXiv.org:0704.0874</identifier>",
        '<header status="deleted">\n <identifier>oai:arXiv.org:0704.0874</identifier>',
    )
    page = oai.parse_page(text)

    assert page.deleted == ["0704.0874"]
    assert "0704.0874" not in records(page)
    assert len(records(page)) == 5


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (("<id>0704.0716</id>", "<id></id>"), "record without <id>"),
        (('<version version="v2">', '<version version="two">'), "unreadable version"),
        (("<date>Fri, 28 Sep 2007 15:13:43 GMT</date>", "<date>yesterday</date>"), ""),
    ],
)
def test_one_unreadable_record_is_rejected_and_the_others_kept(change, reason):
    page = oai.parse_page(RAW_PAGE.read_text().replace(*change, 1))

    rejected = [i for i in page.items if isinstance(i, RejectedRecord)]
    assert [r.ref for r in rejected] == ["0704.0716"]
    assert reason in rejected[0].reason
    assert len(records(page)) == 5


def test_a_record_in_an_unknown_format_is_rejected():
    text = ARXIV_PAGE.read_text().replace(
        'xmlns="http://arxiv.org/OAI/arXiv/"', 'xmlns="http://example.org/other/"', 1
    )
    page = oai.parse_page(text)

    assert [type(i).__name__ for i in page.items] == ["RejectedRecord", "PaperRecord"]
    assert "unknown metadata format" in page.items[0].reason


def test_an_entity_bomb_is_refused_at_once():
    text = RAW_PAGE.read_text()
    body = text.split("?>", 1)[1].replace("<title>Limit", "<title>&lol9;Limit", 1)
    bomb = f'<?xml version="1.0"?>\n<!DOCTYPE OAI-PMH [\n{LAUGHS}\n]>{body}'

    started = time.monotonic()
    with pytest.raises(SourceError, match="unsafe XML"):
        oai.parse_page(bomb)
    assert time.monotonic() - started < 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<html><body>Retry after 10 seconds</body></html>", "expected an OAI-PMH response"),
        (b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"/>', "without <ListRecords>"),
        (b"<OAI-PMH", "not well-formed"),
    ],
)
def test_what_is_not_a_listing_fails_the_page_with_a_clear_error(data, message):
    with pytest.raises(SourceError, match=message):
        oai.parse_page(data)


def test_a_giant_resumption_token_is_refused():
    text = ARXIV_PAGE.read_text().replace("788421|43001", "x" * 5_000)

    with pytest.raises(SourceError, match="resumption token of 5,000 characters"):
        oai.parse_page(text)
