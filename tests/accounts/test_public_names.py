"""Members are shown by a name they choose, or a neutral handle: never by their email."""

from __future__ import annotations

import importlib
from http import HTTPStatus

import pytest
from django.apps import apps
from django.test import Client

from tests.factories import PaperFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_existing_members_get_neutral_handles_and_staff_keep_theirs(django_user_model):
    member = UserFactory(username="grace.hopper", email="grace.hopper@example.org")
    staff = django_user_model.objects.create_superuser("root", "root@example.org", "pw-root-12!")
    migration = importlib.import_module("accounts.migrations.0004_neutral_handles")

    migration.neutral_handles(apps, None)

    member.refresh_from_db()
    staff.refresh_from_db()
    assert member.username.startswith("member-")
    assert "grace" not in member.username
    assert staff.username == "root"


def test_a_member_chooses_the_name_shown_with_what_they_submit(client, alice, commit):
    paper = PaperFactory(submitted_by=alice)
    visitor = Client()
    before = visitor.get(f"/papers/{paper.arxiv_id}").content.decode()  # now cached
    client.force_login(alice)

    saved = commit(
        lambda: client.post("/accounts/profile/name", {"display_name": "  Alice   Liddell "})
    )
    page = visitor.get(f"/papers/{paper.arxiv_id}").content.decode()
    api = visitor.get(f"/api/papers/{paper.arxiv_id}").json()

    assert saved.status_code == HTTPStatus.FOUND
    assert f"Submitted by {alice.username}" in before
    assert "Submitted by Alice Liddell" in page  # the cached page was rebuilt
    assert api["submittedOnDailyBy"]["fullname"] == "Alice Liddell"
    assert alice.email not in page


def test_without_a_display_name_the_handle_is_shown(client):
    member = UserFactory(username="member-abcd2345", email="private.person@example.org")
    paper = PaperFactory(submitted_by=member)

    page = client.get(f"/papers/{paper.arxiv_id}").content.decode()

    assert "Submitted by member-abcd2345" in page
    assert "private.person" not in page


@pytest.mark.parametrize("name", ["me@example.org", "x" * 51, "bad\u202ename"])
def test_a_display_name_that_is_an_address_too_long_or_hidden_text_is_refused(client, alice, name):
    client.force_login(alice)

    response = client.post("/accounts/profile/name", {"display_name": name})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    alice.refresh_from_db()
    assert alice.display_name == ""
