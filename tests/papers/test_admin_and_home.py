from __future__ import annotations

from http import HTTPStatus

import pytest
from django.core.management import call_command
from django.urls import reverse

from papers.models import IngestRun, Paper
from tests.factories import PaperFactory

pytestmark = pytest.mark.django_db


def test_home_lists_the_latest_days_papers_with_authors_and_votes(client):
    call_command("load_demo", stdout=None)
    PaperFactory(listed_on="2026-06-01", title="An older day's paper")

    response = client.get("/")

    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert html.count('class="paper"') == 30
    assert "An older day&#x27;s paper" not in html
    assert "An older day's paper" not in html
    top = Paper.objects.get(arxiv_id="2606.13681")  # 118 upvotes: the day's most voted
    assert html.index(top.title) < html.index(Paper.objects.get(arxiv_id="2606.00467").title)
    assert "Jun 12, 2026" in html


def test_home_escapes_titles_from_sources(client):
    PaperFactory(title="<script>alert(1)</script>")

    html = client.get("/").content.decode()

    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_home_without_papers_says_how_to_get_some(client):
    response = client.get(reverse("papers:latest"))

    assert response.status_code == HTTPStatus.OK
    assert "No papers yet" in response.content.decode()


def test_staff_hides_and_unhides_papers_from_the_admin(client, staff):
    paper = PaperFactory()
    client.force_login(staff)
    url = reverse("admin:papers_paper_changelist")

    client.post(url, {"action": "hide", "_selected_action": [paper.pk]})
    assert Paper.objects.get().hidden is True
    assert client.get("/").content.decode().count('class="paper"') == 0

    client.post(url, {"action": "unhide", "_selected_action": [paper.pk]})
    assert Paper.objects.get().hidden is False


@pytest.mark.parametrize(
    "name",
    [
        "admin:papers_paper_changelist",
        "admin:papers_upvote_changelist",
        "admin:papers_ingestrun_changelist",
    ],
)
def test_admin_lists_search_and_filter(client, staff, name):
    PaperFactory(title="Searchable paper")
    IngestRun.objects.create(source="file", status="failed", error="boom")
    client.force_login(staff)

    response = client.get(reverse(name), {"q": "Searchable"})

    assert response.status_code == HTTPStatus.OK


def test_members_cannot_reach_the_admin(client, alice):
    client.force_login(alice)
    response = client.get(reverse("admin:papers_paper_changelist"))
    assert response.status_code == HTTPStatus.FOUND
