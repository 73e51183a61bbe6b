from __future__ import annotations

from http import HTTPStatus

import pytest
from django.urls import reverse

from papers.models import IngestRun, Paper
from tests.factories import PaperFactory

pytestmark = pytest.mark.django_db


def test_staff_hides_and_unhides_papers_from_the_admin(client, staff):
    paper = PaperFactory()
    client.force_login(staff)
    url = reverse("admin:papers_paper_changelist")

    client.post(url, {"action": "hide", "_selected_action": [paper.pk]})
    assert Paper.objects.get().hidden is True
    assert client.get("/").content.decode().count('class="card"') == 0

    client.post(url, {"action": "unhide", "_selected_action": [paper.pk]})
    assert Paper.objects.get().hidden is False


@pytest.mark.parametrize(
    "name",
    [
        "admin:papers_paper_changelist",
        "admin:papers_upvote_changelist",
        "admin:papers_ingestrun_changelist",
        "admin:papers_harvest_changelist",
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


def test_hiding_a_paper_removes_it_from_the_cached_feed_at_once(
    client, staff, django_capture_on_commit_callbacks
):
    paper = PaperFactory(title="To be hidden")
    assert "To be hidden" in client.get(f"/papers/date/{paper.listed_on}").content.decode()
    client.force_login(staff)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("admin:papers_paper_changelist"),
            {"action": "hide", "_selected_action": [paper.pk]},
        )

    client.logout()
    assert "To be hidden" not in client.get(f"/papers/date/{paper.listed_on}").content.decode()


@pytest.fixture
def viewer(django_user_model):
    """Staff who may only look at papers and deliveries."""
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("viewer", "viewer@example.org", "pw-view-123!")
    user.is_staff = True
    user.save()
    user.user_permissions.set(
        Permission.objects.filter(codename__in=["view_paper", "view_delivery"])
    )
    return user


def test_staff_who_may_only_view_cannot_hide_papers(client, viewer):
    paper = PaperFactory()
    client.force_login(viewer)
    url = reverse("admin:papers_paper_changelist")

    listing = client.get(url)
    client.post(url, {"action": "hide", "_selected_action": [paper.pk]})

    assert listing.status_code == HTTPStatus.OK
    assert 'value="hide"' not in listing.content.decode()
    assert Paper.objects.get().hidden is False


def test_staff_who_may_only_view_cannot_send_digests_again(client, viewer):
    from digests.models import Delivery
    from tests.digests.factories import SubscriptionFactory

    failed = Delivery.objects.create(
        subscription=SubscriptionFactory(),
        frequency="daily",
        period="2026-06-12",
        status="failed",
        attempts=5,
    )
    client.force_login(viewer)
    url = reverse("admin:digests_delivery_changelist")

    assert 'value="send_again"' not in client.get(url).content.decode()
    client.post(url, {"action": "send_again", "_selected_action": [failed.pk]})

    failed.refresh_from_db()
    assert failed.status == "failed"
