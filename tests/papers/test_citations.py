"""BibTeX and CSL-JSON exports, checked by parsing them as Zotero's importers would."""

from __future__ import annotations

import datetime as dt
import json
from http import HTTPStatus

import bibtexparser
import pytest
from bibtexparser.bparser import BibTexParser
from bibtexparser.customization import author as split_authors
from django.test import Client

from papers.citations import bibtex, csl_json, latex_escape
from papers.models import Upvote
from readinglists.services import collection_create, item_add
from tests.factories import PaperFactory

pytestmark = pytest.mark.django_db


def parse(text: str) -> list[dict[str, str]]:
    parser = BibTexParser(common_strings=True)
    parser.ignore_nonstandard_types = False
    return bibtexparser.loads(text, parser=parser).entries


@pytest.fixture
def tricky():
    return PaperFactory(
        arxiv_id="2606.01234",
        title="Q&A at 100% for $O(n \\log n)$ agents_v2 #1 {beyond} ~ ^ \\ tricks",
        authors=[
            {"name": "Zoë Ångström-Łukasz"},
            {"name": "José Núñez"},
            {"name": "Smith and Sons, Ltd."},
        ],
        published_at=dt.datetime(2026, 5, 30, tzinfo=dt.UTC),
        primary_category="cs.LG",
    )


def test_bibtex_parses_with_every_field_and_escapes_latex_specials(tricky):
    [entry] = parse(bibtex([tricky]))
    assert entry["ENTRYTYPE"] == "misc"
    assert entry["ID"] == "angstromlukasz2026agentsv2"  # ASCII: surname, year, a title word
    assert entry["eprint"] == "2606.01234"
    assert entry["archiveprefix"] == "arXiv"
    assert entry["primaryclass"] == "cs.LG"
    assert entry["url"] == "https://arxiv.org/abs/2606.01234"
    assert entry["year"] == "2026"
    title = entry["title"]
    for escaped in (r"Q\&A", r"100\%", r"agents\_v2", r"\#1", r"\{beyond\}", r"\textasciitilde{}"):
        assert escaped in title
    assert "$O(n \\log n)$" in title  # math stays math
    authors = split_authors(dict(entry))["author"]
    assert authors[:2] == ["Ångström-Łukasz, Zoë", "Núñez, José"]  # UTF-8 kept
    # A name with "and" or a comma in braces: BibTeX and biber read it as one name.
    assert entry["author"].endswith(" and {Smith and Sons, Ltd.}")


def test_keys_are_unique_within_a_file():
    papers = [
        PaperFactory(title="Scaling laws again", authors=[{"name": "Ada Lovelace"}])
        for _ in range(3)
    ]
    keys = [entry["ID"] for entry in parse(bibtex(papers))]
    assert len(set(keys)) == 3


def test_csl_json_has_what_zotero_reads(tricky):
    [item] = csl_json([tricky])
    assert item["type"] == "article"
    assert item["title"] == tricky.title
    assert item["author"][0] == {"given": "Zoë", "family": "Ångström-Łukasz"}
    assert item["author"][2] == {"literal": "Smith and Sons, Ltd."}
    assert item["issued"] == {"date-parts": [[2026, 5, 30]]}
    assert item["URL"] == "https://arxiv.org/abs/2606.01234"


def test_latex_escape_leaves_unbalanced_math_as_text():
    assert latex_escape("a $x}$ b", keep_math=True) == r"a \$x\}\$ b"


def test_a_paper_a_search_a_collection_and_upvotes_download(tricky, alice):
    client = Client()
    response = client.get("/papers/2606.01234.bib")
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"].startswith("application/x-bibtex")
    assert 'filename="arXiv-2606.01234.bib"' in response["Content-Disposition"]
    assert parse(response.content.decode())[0]["eprint"] == "2606.01234"
    data = json.loads(client.get("/papers/2606.01234v2.csl.json").content)
    assert data[0]["archive_location"] == "2606.01234"
    found = parse(client.get("/papers/search.bib", {"q": "agents"}).content.decode())
    assert [e["eprint"] for e in found] == ["2606.01234"]
    assert client.get("/papers/2612.99999.bib").status_code == HTTPStatus.NOT_FOUND
    collection = collection_create(owner=alice, name="Club", visibility="public")
    item_add(user=alice, collection=collection, paper=tricky)
    exported = client.get(f"/collections/{alice.username}/club.bib").content.decode()
    assert parse(exported)[0]["eprint"] == "2606.01234"
    Upvote.objects.create(user=alice, paper=tricky)
    assert client.get("/accounts/profile/upvotes.bib").status_code == HTTPStatus.FOUND  # sign in
    client.force_login(alice)
    mine = json.loads(client.get("/accounts/profile/upvotes.csl.json").content)
    assert [item["archive_location"] for item in mine] == ["2606.01234"]
