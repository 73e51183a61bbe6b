"""Author pages: one author whatever the spelling, reached from every author name."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.test import Client

from papers.authors import author_key, papers_by_author
from tests.factories import PaperFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "name", ["Zoë Ångström", "zoe angstrom", "Z. Ångström", "Ångström, Zoë", "ZOË  ÅNGSTRÖM"]
)
def test_spellings_of_one_name_share_a_key(name):
    assert author_key(name) == "angstrom-z"


def test_other_people_do_not():
    assert author_key("Anna Ångström") != author_key("Zoë Ångström")
    assert author_key("Zoë Ångströmer") != author_key("Zoë Ångström")
    assert author_key("Łukasz Kaiser") == "kaiser-l"


def test_an_author_page_lists_every_spelling_and_no_one_else(client):
    mine = [
        PaperFactory(title="First", authors=[{"name": "Zoë Ångström"}, {"name": "Bo Li"}]),
        PaperFactory(title="Second", authors=[{"name": "Z. Ångström"}]),
    ]
    PaperFactory(title="Someone else", authors=[{"name": "Anna Ångström"}])
    PaperFactory(title="Hidden", authors=[{"name": "Zoë Ångström"}], hidden=True)
    assert {p.pk for p in papers_by_author("zoe angstrom")} == {p.pk for p in mine}
    response = client.get("/authors/Zo%C3%AB%20%C3%85ngstr%C3%B6m")
    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    assert "First" in page
    assert "Second" in page
    assert "Someone else" not in page
    assert "as Z. Ångström, Zoë Ångström" in page
    assert client.get("/authors/Nobody%20Here").status_code == HTTPStatus.NOT_FOUND


def test_author_names_on_cards_and_pages_link_to_their_pages(client):
    paper = PaperFactory(authors=[{"name": "Ada Lovelace"}, {"name": "A/B Tester"}])
    page = Client().get(f"/papers/{paper.arxiv_id}").content.decode()
    assert '<a href="/authors/Ada%20Lovelace">Ada Lovelace</a>' in page
    assert '<a href="/authors/A/B%20Tester">A/B Tester</a>' in page
    day = Client().get(f"/papers/date/{paper.listed_on:%Y-%m-%d}").content.decode()
    assert '<a href="/authors/Ada%20Lovelace">Ada Lovelace</a>' in day
