"""arXiv: the Atom API (classic and 2026 formats), its paging and pacing, and the RSS listing."""

from __future__ import annotations

import itertools
import re
import time
from datetime import UTC, date, datetime

import pytest
from werkzeug import Request, Response

from papers.sources import arxiv
from papers.sources.http import USER_AGENT
from papers.sources.records import (
    Author,
    PaperRecord,
    RejectedRecord,
    SourceError,
    is_valid_arxiv_id,
    split_arxiv_id,
)
from tests.conftest import ARXIV_ATOM, ARXIV_RSS, FIXTURES

ARXIV_ATOM_2026 = FIXTURES / "arxiv_api_query_2026_format.xml"
ATOM_TYPE = "application/atom+xml"
RSS_TYPE = "application/rss+xml"


@pytest.fixture
def arxiv_server(httpserver, settings):
    """The local server stands in for export.arxiv.org and rss.arxiv.org."""
    base = httpserver.url_for("").rstrip("/")
    settings.ARXIV_API_URL = base
    settings.ARXIV_RSS_URL = base
    settings.ARXIV_DELAY_SECONDS = 0
    return httpserver


def atom_entry(number: int) -> str:
    return f"""
  <entry>
    <id>http://arxiv.org/abs/2604.{number:05d}v1</id>
    <title>Paper {number}</title>
    <summary>Abstract {number}.</summary>
    <published>2026-04-27T12:00:00Z</published>
    <updated>2026-04-27T12:00:00Z</updated>
    <author><name>Author {number}</name></author>
    <arxiv:primary_category term="cs.AI"/>
    <category term="cs.AI"/>
  </entry>"""


def atom_feed(entries: list[str], total: int | None) -> str:
    total_element = (
        "" if total is None else f"<opensearch:totalResults>{total}</opensearch:totalResults>"
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom"
      xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">
  <title>arXiv Query</title>
  {total_element}
  {"".join(entries)}
</feed>"""


ERROR_FEED = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <link href="http://arxiv.org/api/query?id_list=1234.1234" rel="self" type="application/atom+xml"/>
  <title type="html">ArXiv Query: id_list=1234.1234</title>
  <id>http://arxiv.org/api/b4PmgnW1kGcXU4BJzH9EIrAzzBA</id>
  <opensearch:totalResults xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">1</opensearch:totalResults>
  <entry>
    <id>http://arxiv.org/api/errors#incorrect_id_format_for_1234.1234</id>
    <title>Error</title>
    <summary>incorrect id format for 1234.1234</summary>
    <updated>2026-04-27T00:00:00-04:00</updated>
    <author><name>arXiv api core</name></author>
  </entry>
</feed>"""


def paged_feed_handler(total: int, log: list[tuple[float, int]] | None = None):
    """Answer like the API: `max_results` entries from `start`, out of `total`."""

    def handle(request: Request) -> Response:
        start = int(request.args["start"])
        size = int(request.args["max_results"])
        if log is not None:
            log.append((time.monotonic(), start))
        numbers = range(start + 1, min(start + size, total) + 1)
        body = atom_feed([atom_entry(n) for n in numbers], total)
        return Response(body, content_type=ATOM_TYPE)

    return handle


def records_by_id(items) -> dict[str, PaperRecord]:
    return {item.arxiv_id: item for item in items if isinstance(item, PaperRecord)}


# --- split_arxiv_id and is_valid_arxiv_id ---------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2401.12345v3", ("2401.12345", 3)),
        ("2401.12345", ("2401.12345", None)),
        ("0704.0001v1", ("0704.0001", 1)),
        ("hep-th/9901001v2", ("hep-th/9901001", 2)),
        ("cond-mat/0412498v1", ("cond-mat/0412498", 1)),
        ("solv-int/9901001v1", ("solv-int/9901001", 1)),
        ("solv-int/9901001", ("solv-int/9901001", None)),
        ("math.GT/0309136v12", ("math.GT/0309136", 12)),
        ("http://arxiv.org/abs/2401.12345v2", ("2401.12345", 2)),
        ("https://arxiv.org/abs/2401.12345v2", ("2401.12345", 2)),
        ("https://arxiv.org/abs/2401.12345", ("2401.12345", None)),
        ("https://export.arxiv.org/abs/hep-th/9901001v2", ("hep-th/9901001", 2)),
        ("http://arxiv.org/pdf/2401.12345v2.pdf", ("2401.12345", 2)),
        ("https://arxiv.org/pdf/2401.12345v2.pdf", ("2401.12345", 2)),
        ("https://arxiv.org/pdf/2401.12345.pdf", ("2401.12345", None)),
        ("https://arxiv.org/pdf/2401.12345v2", ("2401.12345", 2)),
        ("https://www.arxiv.org/pdf/solv-int/9901001v1.pdf", ("solv-int/9901001", 1)),
        ("https://arxiv.org/html/2401.12345v3", ("2401.12345", 3)),
        ("https://arxiv.org/abs/2401.12345v2?context=cs.AI", ("2401.12345", 2)),
        ("https://arxiv.org/abs/2401.12345v2/", ("2401.12345", 2)),
        ("https://huggingface.co/papers/2401.12345", ("2401.12345", None)),
        ("huggingface.co/papers/2401.12345", ("2401.12345", None)),
        ("arXiv:2401.12345", ("2401.12345", None)),
        ("arXiv:2401.12345v4", ("2401.12345", 4)),
        ("  2401.12345v2\n", ("2401.12345", 2)),
        ("", ("", None)),
    ],
)
def test_split_arxiv_id(value, expected):
    assert split_arxiv_id(value) == expected


def test_old_style_id_keeps_the_v_in_solv_int():
    arxiv_id, version = split_arxiv_id("solv-int/9901001")

    assert arxiv_id == "solv-int/9901001"
    assert version is None
    assert is_valid_arxiv_id(arxiv_id)


@pytest.mark.parametrize(
    "value", ["2401.12345", "0704.0001", "hep-th/9901001", "solv-int/9901001", "math.GT/0309136"]
)
def test_bare_ids_are_valid(value):
    assert is_valid_arxiv_id(value)


@pytest.mark.parametrize(
    "value",
    ["2401.12345v2", "2401.123", "2401.12345\n", "hep-th/9901001\n", "HEP-TH/9901001", "", "x"],
)
def test_versions_trailing_newlines_and_junk_are_not_bare_ids(value):
    assert not is_valid_arxiv_id(value)


# --- the classic Atom feed ------------------------------------------------------------------


def test_classic_feed_gives_ten_records_and_the_total():
    items, total = arxiv.parse_atom(ARXIV_ATOM.read_bytes())

    assert total == 31
    assert len(items) == 10
    assert all(isinstance(item, PaperRecord) for item in items)
    assert {item.source for item in items} == {"arxiv"}
    assert [item.arxiv_id for item in items][:3] == [
        "1201.4869",
        "cond-mat/0412498",
        "cond-mat/0603029",
    ]


def test_classic_feed_first_entry_field_by_field():
    paper = arxiv.parse_atom(ARXIV_ATOM.read_bytes())[0][0]

    assert paper.arxiv_id == "1201.4869"
    assert paper.version == 1
    assert paper.title == "A Luttinger Liquid Core Inside Helium-4 Filled Nanopores"
    assert paper.abstract.startswith(
        "As helium-4 is cooled below 2.17 K it undergoes a phase transition to a "
        "fundamentally new state of matter"
    )
    assert paper.abstract.endswith("intriguing low dimensional state of matter.")
    assert "\n" not in paper.abstract
    assert "  " not in paper.abstract
    assert paper.authors == [Author(name="Adrian Del Maestro")]
    assert paper.published_at == datetime(2012, 1, 23, 21, 15, 2, tzinfo=UTC)
    assert paper.source_updated_at == datetime(2012, 1, 23, 21, 15, 2, tzinfo=UTC)
    assert paper.primary_category == "cond-mat.mes-hall"
    assert paper.categories == ["cond-mat.mes-hall", "cond-mat.other"]
    assert paper.listed_on is None


def test_classic_feed_old_style_id_is_split_into_id_and_version():
    paper = records_by_id(arxiv.parse_atom(ARXIV_ATOM.read_bytes())[0])["cond-mat/0412498"]

    assert (paper.arxiv_id, paper.version) == ("cond-mat/0412498", 1)
    assert paper.title == "Thermal melting of density waves on the square lattice"
    # Entities are decoded and hard wraps squashed.
    assert paper.abstract.startswith(
        'We present the theory of the effect of thermal fluctuations on commensurate "p x p" '
        "density wave ordering on the square lattice (p >= 3, integer)."
    )
    assert [a.name for a in paper.authors] == ["Adrian Del Maestro", "Subir Sachdev"]
    assert paper.published_at == datetime(2004, 12, 19, 16, 18, 24, tzinfo=UTC)
    assert paper.primary_category == "cond-mat.str-el"
    assert paper.categories == ["cond-mat.str-el", "cond-mat.stat-mech"]


def test_classic_feed_wrapped_title_and_a_later_version():
    records = records_by_id(arxiv.parse_atom(ARXIV_ATOM.read_bytes())[0])
    wrapped = records["cond-mat/0603029"]
    revised = records["1303.6954"]

    assert wrapped.title == (
        "From stripe to checkerboard order on the square lattice in the presence of "
        "quenched disorder"
    )
    assert [a.name for a in wrapped.authors] == [
        "Adrian Del Maestro",
        "Bernd Rosenow",
        "Subir Sachdev",
    ]
    assert wrapped.categories == ["cond-mat.str-el", "cond-mat.supr-con"]

    assert revised.version == 2
    assert revised.title == "Local Superfluidity at the Nanoscale"
    assert [a.name for a in revised.authors] == ["B. Kulchytskyy", "G. Gervais", "A. Del Maestro"]
    assert revised.published_at == datetime(2013, 3, 27, 20, 0, 4, tzinfo=UTC)
    assert revised.source_updated_at == datetime(2013, 9, 3, 1, 6, 36, tzinfo=UTC)
    assert revised.primary_category == "cond-mat.mes-hall"
    assert revised.categories == ["cond-mat.mes-hall", "cond-mat.stat-mech"]


# --- the 2026 Atom feed ---------------------------------------------------------------------


def test_2026_feed_reads_despite_other_order_https_ids_and_no_scheme():
    items, total = arxiv.parse_atom(ARXIV_ATOM_2026.read_bytes())

    assert total == 3
    assert [(i.arxiv_id, i.version) for i in items] == [
        ("2604.21935", 2),
        ("hep-th/9901001", 2),
        ("solv-int/9901001", 1),
    ]
    paper = items[0]
    assert (
        paper.title == "Math Takes Two: A test for emergent mathematical reasoning in communication"
    )
    assert paper.abstract == (
        "Although language models demonstrate remarkable proficiency on mathematical "
        "benchmarks, it remains unclear whether this reflects true mathematical reasoning."
    )
    assert paper.published_at == datetime(2026, 4, 23, 14, 30, 5, tzinfo=UTC)
    assert paper.source_updated_at == datetime(2026, 4, 28, 17, 2, 11, tzinfo=UTC)
    assert paper.primary_category == "cs.AI"
    assert paper.categories == ["cs.AI", "cs.LG"]


def test_2026_feed_keeps_author_affiliations():
    paper = arxiv.parse_atom(ARXIV_ATOM_2026.read_bytes())[0][0]

    assert paper.authors == [
        Author(
            name="Michael Cooper", affiliations=("University of Oxford", "Alan Turing Institute")
        ),
        Author(name="Samuel Cooper", affiliations=("DeepMind",)),
        Author(name="Ada Lovelace"),
    ]
    assert paper.authors[0].as_json() == {
        "name": "Michael Cooper",
        "affiliations": ["University of Oxford", "Alan Turing Institute"],
    }


def test_2026_feed_old_style_ids():
    items, _total = arxiv.parse_atom(ARXIV_ATOM_2026.read_bytes())
    hep, solv = items[1], items[2]

    assert hep.title == "Strings on a Lattice"
    assert hep.authors == [Author(name="Jane Q. Physicist", affiliations=("CERN",))]
    assert hep.primary_category == "hep-th"
    assert hep.categories == ["hep-th", "gr-qc"]
    assert hep.published_at == datetime(1999, 1, 4, 12, tzinfo=UTC)
    assert hep.source_updated_at == datetime(1999, 3, 15, 8, 30, tzinfo=UTC)

    assert solv.arxiv_id == "solv-int/9901001"
    assert solv.version == 1
    assert solv.primary_category == "nlin.SI"
    assert solv.categories == ["nlin.SI"]


def test_both_formats_give_records_of_the_same_shape():
    classic = arxiv.parse_atom(ARXIV_ATOM.read_text(encoding="utf-8"))[0][0]
    modern = arxiv.parse_atom(ARXIV_ATOM_2026.read_text(encoding="utf-8"))[0][0]

    for record in (classic, modern):
        assert is_valid_arxiv_id(record.arxiv_id)
        assert record.version is not None
        assert record.title
        assert record.abstract
        assert record.authors
        assert record.published_at.tzinfo is not None
        assert record.primary_category in record.categories


def test_an_entry_with_a_bad_date_is_rejected_and_the_others_kept():
    bad = atom_entry(2).replace("2026-04-27T12:00:00Z</published>", "last tuesday</published>")
    items, total = arxiv.parse_atom(atom_feed([atom_entry(1), bad, atom_entry(3)], 3))

    assert total == 3
    assert isinstance(items[0], PaperRecord)
    assert isinstance(items[2], PaperRecord)
    assert items[1] == RejectedRecord(
        ref="http://arxiv.org/abs/2604.00002v1", reason=items[1].reason
    )
    assert "last tuesday" in items[1].reason


def test_an_entry_without_an_id_is_rejected():
    no_id = re.sub(r"<id>.*?</id>", "", atom_entry(1))

    items, _total = arxiv.parse_atom(atom_feed([no_id], 1))

    assert items == [RejectedRecord(ref="entry 0", reason="entry without <id>")]


def test_an_rss_document_is_not_an_atom_feed():
    with pytest.raises(SourceError, match=r"expected an Atom <feed>, found <rss>"):
        arxiv.parse_atom(ARXIV_RSS.read_bytes())


def test_an_error_feed_raises_with_arxivs_message():
    with pytest.raises(SourceError, match=r"arXiv API error: incorrect id format for 1234\.1234"):
        arxiv.parse_atom(ERROR_FEED)


# --- fetching from the API ------------------------------------------------------------------


def test_fetch_query_pages_by_start_until_the_total(arxiv_server):
    arxiv_server.expect_request("/api/query").respond_with_handler(paged_feed_handler(5))

    items = arxiv.fetch_query(search_query="cat:cs.AI", page_size=2)

    assert [item.arxiv_id for item in items] == [f"2604.{n:05d}" for n in range(1, 6)]
    requests = [request for request, _ in arxiv_server.log]
    assert [r.args["start"] for r in requests] == ["0", "2", "4"]
    assert {r.args["max_results"] for r in requests} == {"2"}
    assert {r.args["search_query"] for r in requests} == {"cat:cs.AI"}
    assert {r.args["sortBy"] for r in requests} == {"submittedDate"}
    assert {r.args["sortOrder"] for r in requests} == {"descending"}
    assert {r.headers["User-Agent"] for r in requests} == {USER_AGENT}


def test_fetch_query_paces_its_calls(arxiv_server, settings):
    settings.ARXIV_DELAY_SECONDS = 0.3
    calls: list[tuple[float, int]] = []
    arxiv_server.expect_request("/api/query").respond_with_handler(paged_feed_handler(5, calls))

    items = arxiv.fetch_query(search_query="cat:cs.AI", page_size=2)

    assert len(items) == 5
    assert [start for _, start in calls] == [0, 2, 4]
    times = [moment for moment, _ in calls]
    assert times[-1] - times[0] >= 0.6
    assert all(later - earlier >= 0.29 for earlier, later in itertools.pairwise(times))


def test_fetch_query_stops_without_a_total(arxiv_server):
    arxiv_server.expect_request("/api/query").respond_with_data(
        atom_feed([atom_entry(1), atom_entry(2)], None), content_type=ATOM_TYPE
    )

    items = arxiv.fetch_query(search_query="cat:cs.AI", page_size=2)

    assert len(items) == 2
    assert len(arxiv_server.log) == 1


def test_an_empty_page_before_the_total_is_asked_again(arxiv_server, settings):
    settings.SOURCE_RETRIES = 3
    answers = iter(
        [
            atom_feed([atom_entry(1), atom_entry(2)], 4),
            atom_feed([], 4),  # arXiv's occasional empty page
            atom_feed([atom_entry(3), atom_entry(4)], 4),
        ]
    )
    arxiv_server.expect_request("/api/query").respond_with_handler(
        lambda request: Response(next(answers), content_type=ATOM_TYPE)
    )

    items = arxiv.fetch_query(search_query="cat:cs.AI", page_size=2)

    assert [item.arxiv_id for item in items] == [f"2604.{n:05d}" for n in range(1, 5)]
    assert [r.args["start"] for r, _ in arxiv_server.log] == ["0", "2", "2"]


def test_empty_pages_are_not_asked_for_forever(arxiv_server, settings):
    settings.SOURCE_RETRIES = 3
    arxiv_server.expect_request("/api/query").respond_with_data(
        atom_feed([], 50), content_type=ATOM_TYPE
    )

    assert arxiv.fetch_query(search_query="cat:cs.AI") == []
    assert len(arxiv_server.log) == 3


def test_fetch_query_raises_on_an_error_feed(arxiv_server):
    arxiv_server.expect_request("/api/query").respond_with_data(ERROR_FEED, content_type=ATOM_TYPE)

    with pytest.raises(SourceError, match=r"arXiv API error: incorrect id format for 1234\.1234"):
        arxiv.fetch_by_ids(["1234.1234"])


def test_an_error_feed_sent_with_http_400_keeps_its_message(arxiv_server, settings):
    settings.SOURCE_RETRIES = 3
    arxiv_server.expect_request("/api/query").respond_with_data(
        ERROR_FEED, status=400, content_type=ATOM_TYPE
    )

    with pytest.raises(SourceError, match=r"incorrect id format for 1234\.1234 \(HTTP 400\)"):
        arxiv.fetch_by_ids(["1234.1234"])

    assert len(arxiv_server.log) == 1


def test_a_400_without_an_error_feed_is_a_plain_http_error(arxiv_server):
    arxiv_server.expect_request("/api/query").respond_with_data("Bad Request", status=400)

    with pytest.raises(SourceError, match="HTTP 400"):
        arxiv.fetch_by_ids(["2401.12345"])


def test_fetch_by_category_asks_for_the_categories_and_the_submission_window(arxiv_server):
    arxiv_server.expect_request("/api/query").respond_with_data(
        ARXIV_ATOM_2026.read_bytes(), content_type=ATOM_TYPE
    )

    items = arxiv.fetch_by_category(["cs.AI", "cs.LG"], date(2026, 4, 20), date(2026, 4, 27))

    assert len(items) == 3
    (request, _), *rest = arxiv_server.log
    assert rest == []
    query = request.args["search_query"]
    assert "cat:cs.AI" in query
    assert query == ("(cat:cs.AI OR cat:cs.LG) AND submittedDate:[202604200000 TO 202604272359]")
    assert request.args["start"] == "0"
    assert "id_list" not in request.args


def test_fetch_by_category_for_one_day(arxiv_server):
    arxiv_server.expect_request("/api/query").respond_with_data(
        atom_feed([], 0), content_type=ATOM_TYPE
    )

    assert arxiv.fetch_by_category(["cs.AI"], date(2026, 4, 27), date(2026, 4, 27)) == []

    request = arxiv_server.log[0][0]
    assert request.args["search_query"] == (
        "(cat:cs.AI) AND submittedDate:[202604270000 TO 202604272359]"
    )


def test_fetch_by_ids_sends_an_id_list_sized_page(arxiv_server):
    arxiv_server.expect_request("/api/query").respond_with_data(
        ARXIV_ATOM_2026.read_bytes(), content_type=ATOM_TYPE
    )

    ids = ["2604.21935", "hep-th/9901001v2", "solv-int/9901001"]
    items = arxiv.fetch_by_ids(ids)

    assert [item.arxiv_id for item in items] == ["2604.21935", "hep-th/9901001", "solv-int/9901001"]
    request = arxiv_server.log[0][0]
    assert request.args["id_list"] == "2604.21935,hep-th/9901001v2,solv-int/9901001"
    assert request.args["max_results"] == "3"
    assert "search_query" not in request.args


def test_fetch_by_ids_with_no_ids_asks_nothing(arxiv_server):
    assert arxiv.fetch_by_ids([]) == []
    assert arxiv_server.log == []


def test_days_window_ends_today():
    assert arxiv.days_window(3, date(2026, 4, 27)) == (date(2026, 4, 25), date(2026, 4, 27))
    assert arxiv.days_window(0, date(2026, 4, 27)) == (date(2026, 4, 27), date(2026, 4, 27))


# --- RSS ------------------------------------------------------------------------------------


def rss_items(text: str) -> list[str]:
    return re.findall(r"<item>.*?</item>", text, flags=re.DOTALL)


def with_announce_type(item: str, announce: str) -> str:
    return item.replace(
        "<arxiv:announce_type>new</arxiv:announce_type>",
        f"<arxiv:announce_type>{announce}</arxiv:announce_type>",
    ).replace("Announce Type: new", f"Announce Type: {announce}")


def test_rss_sample_gives_three_new_papers_field_by_field():
    items = arxiv.parse_rss(ARXIV_RSS.read_bytes())

    assert [(i.arxiv_id, i.version) for i in items] == [
        ("2604.21935", 1),
        ("2604.21936", 1),
        ("2604.21937", 1),
    ]
    assert {i.source for i in items} == {"arxiv-rss"}
    assert {i.listed_on for i in items} == {date(2026, 4, 27)}
    math, artifact, molclaw = items

    assert math.title == (
        "Math Takes Two: A test for emergent mathematical reasoning in communication"
    )
    assert math.abstract.startswith(
        "Although language models demonstrate remarkable proficiency on mathematical benchmarks"
    )
    assert "Announce Type" not in math.abstract
    assert not math.abstract.startswith("arXiv:")
    assert math.authors == [Author(name="Michael Cooper"), Author(name="Samuel Cooper")]
    assert math.categories == ["cs.AI", "cs.LG"]
    # A new paper's first version is announced that day (midnight New York time).
    assert math.published_at == datetime(2026, 4, 27, 4, tzinfo=UTC)

    assert artifact.title.startswith("An Artifact-based Agent Framework")
    assert artifact.abstract.startswith("Medical imaging research is increasingly shifting")
    assert len(artifact.authors) == 18
    assert artifact.authors[0].name == "Lianrui Zuo"
    assert artifact.authors[4].name == "Aravind R. Krishnan"
    assert artifact.authors[-1].name == "Bennett A. Landman"
    assert artifact.categories == ["cs.AI", "cs.CV", "cs.MA"]

    assert molclaw.title.startswith("MolClaw: An Autonomous Agent with Hierarchical Skills")
    assert molclaw.abstract.startswith("Computational drug discovery")
    assert [a.name for a in molclaw.authors][:3] == ["Lisheng Zhang", "Lilong Wang", "Xiangyu Sun"]
    assert molclaw.authors[-1].name == "Zhengwei Xie"
    assert len(molclaw.authors) == 17
    assert molclaw.categories == ["cs.AI", "cs.MA"]


def test_rss_replacements_are_skipped_and_cross_lists_kept():
    text = ARXIV_RSS.read_text(encoding="utf-8")
    first, second, third = rss_items(text)
    replaced = with_announce_type(second, "replace").replace("2604.21936v1", "2604.21936v3")
    replaced_cross = with_announce_type(third, "replace-cross")
    cross = with_announce_type(first, "cross").replace("2604.21935", "2604.11111")
    variant = (
        text.replace(second, replaced).replace(third, replaced_cross).replace(first, first + cross)
    )

    items = arxiv.parse_rss(variant)

    assert [(i.arxiv_id, i.version) for i in items] == [("2604.21935", 1), ("2604.11111", 1)]
    new, crossed = items
    assert new.published_at is not None
    # A cross-list says nothing of when the paper itself appeared.
    assert crossed.published_at is None
    assert crossed.listed_on == date(2026, 4, 27)
    assert crossed.abstract.startswith("Although language models")
    assert "Announce Type" not in crossed.abstract


def test_rss_empty_channel_on_a_weekend_gives_no_records():
    text = ARXIV_RSS.read_text(encoding="utf-8")
    empty = re.sub(r"\s*<item>.*?</item>", "", text, flags=re.DOTALL)
    assert "<item>" not in empty

    assert arxiv.parse_rss(empty) == []


def test_rss_creators_joined_with_and_are_split():
    text = ARXIV_RSS.read_text(encoding="utf-8").replace(
        "Michael Cooper, Samuel Cooper", "Ann Anderson, Bob Brand and Carla Candor"
    )

    paper = arxiv.parse_rss(text)[0]

    assert [a.name for a in paper.authors] == ["Ann Anderson", "Bob Brand", "Carla Candor"]


def test_rss_item_with_a_bad_date_is_rejected():
    text = ARXIV_RSS.read_text(encoding="utf-8")
    first = rss_items(text)[0]
    broken = first.replace(
        "<pubDate>Mon, 27 Apr 2026 00:00:00 -0400</pubDate>", "<pubDate>soon</pubDate>"
    )

    items = arxiv.parse_rss(text.replace(first, broken))

    assert isinstance(items[0], RejectedRecord)
    assert items[0].ref == "oai:arXiv.org:2604.21935v1"
    assert [type(i) for i in items[1:]] == [PaperRecord, PaperRecord]


def test_an_atom_feed_is_not_rss():
    with pytest.raises(SourceError, match=r"expected an RSS <rss><channel>, found <feed>"):
        arxiv.parse_rss(ARXIV_ATOM.read_bytes())


def test_fetch_rss_asks_for_the_joined_categories(arxiv_server):
    arxiv_server.expect_request("/rss/cs.AI+cs.LG").respond_with_data(
        ARXIV_RSS.read_bytes(), content_type=RSS_TYPE
    )

    items = arxiv.fetch_rss(["cs.AI", "cs.LG"])

    assert len(items) == 3
    (request, _), *rest = arxiv_server.log
    assert rest == []
    assert request.path == "/rss/cs.AI+cs.LG"
    assert request.environ["RAW_URI"] == "/rss/cs.AI+cs.LG"  # the +, not %2B
    assert request.headers["User-Agent"] == USER_AGENT
