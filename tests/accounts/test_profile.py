from __future__ import annotations

import datetime as dt
import re
from http import HTTPStatus

import pytest
from allauth.account.models import EmailAddress

from accounts.services import api_token_create
from digests.models import Subscription
from people.selectors import PROFILE_PAGE_SIZE
from readinglists.services import collection_create, item_add
from tests.factories import CommentFactory, PaperFactory, UpvoteFactory

pytestmark = pytest.mark.django_db


def listed(html: str) -> list[str]:
    """The arXiv ids linked from the list of upvoted papers."""
    upvoted = re.search(r'<ol class="upvoted".*?</ol>', html, re.DOTALL)
    return re.findall(r'href="/papers/([^"]+)"', upvoted.group(0)) if upvoted else []


def test_profile_needs_a_login(client):
    response = client.get("/accounts/profile/")

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/accounts/login/?next=/accounts/profile/"


def test_profile_shows_my_email_and_my_upvoted_papers_only(client, alice, bob):
    mine = UpvoteFactory(user=alice, paper=PaperFactory(title="A paper Alice liked")).paper
    UpvoteFactory(user=bob, paper=PaperFactory(title="A paper only Bob liked"))
    client.force_login(alice)

    response = client.get("/accounts/profile/")

    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert "alice@example.org" in html
    assert "A paper Alice liked" in html
    assert listed(html) == [mine.arxiv_id]
    assert "A paper only Bob liked" not in html


def test_profile_lists_the_most_recent_upvote_first(client, alice):
    older = UpvoteFactory(user=alice, paper=PaperFactory(title="Voted first")).paper
    newer = UpvoteFactory(user=alice, paper=PaperFactory(title="Voted second")).paper
    client.force_login(alice)

    html = client.get("/accounts/profile/").content.decode()

    assert html.index(newer.title) < html.index(older.title)


def test_profile_without_upvotes_says_so(client, alice):
    client.force_login(alice)

    html = client.get("/accounts/profile/").content.decode()

    assert "You have not upvoted any paper yet." in html


def test_profile_costs_a_constant_number_of_queries(client, alice, django_assert_max_num_queries):
    for paper in PaperFactory.create_batch(PROFILE_PAGE_SIZE + 5):
        UpvoteFactory(user=alice, paper=paper)
    for name in ("laptop", "ci", "notebook"):
        api_token_create(user=alice, name=name)
    Subscription.objects.create(email="alice@example.org", user=alice)
    for paper in PaperFactory.create_batch(5):
        CommentFactory(author=alice, paper=paper)
        item_add(
            user=alice, collection=collection_create(owner=alice, name=paper.title), paper=paper
        )
    client.force_login(alice)

    # Session and user, upvotes, subscription, tokens, comments, collections.
    with django_assert_max_num_queries(8):
        response = client.get("/accounts/profile/")

    assert response.status_code == HTTPStatus.OK
    assert len(listed(response.content.decode())) == PROFILE_PAGE_SIZE


def test_profile_pages_through_many_upvotes(client, alice):
    for paper in PaperFactory.create_batch(PROFILE_PAGE_SIZE + 5):
        UpvoteFactory(user=alice, paper=paper)
    client.force_login(alice)

    first = client.get("/accounts/profile/").content.decode()
    second = client.get("/accounts/profile/?page=2").content.decode()

    assert 'href="?page=2"' in first
    assert len(listed(second)) == 5
    assert 'href="?page=1"' in second
    assert f'start="{PROFILE_PAGE_SIZE + 1}"' in second


@pytest.mark.parametrize("page", ["0", "-3", "abc", "99999999999999999999999"])
def test_profile_tolerates_any_page_number(client, alice, page):
    client.force_login(alice)

    assert client.get(f"/accounts/profile/?page={page}").status_code == HTTPStatus.OK


def test_profile_hides_papers_a_moderator_hid(client, alice):
    UpvoteFactory(user=alice, paper=PaperFactory(title="Hidden by moderation", hidden=True))
    client.force_login(alice)

    html = client.get("/accounts/profile/").content.decode()

    assert "Hidden by moderation" not in html


def test_profile_refuses_post(client, alice):
    client.force_login(alice)

    assert client.post("/accounts/profile/").status_code == HTTPStatus.METHOD_NOT_ALLOWED


def test_profile_links_to_my_confirmed_digest_subscription(client, alice):
    mine = Subscription.objects.create(
        email="alice@example.org",
        user=alice,
        frequency="weekly",
        confirmed_at=dt.datetime(2026, 6, 1, tzinfo=dt.UTC),
    )
    Subscription.objects.create(email="bob@example.org", frequency="daily")
    client.force_login(alice)

    html = client.get("/accounts/profile/").content.decode()

    assert "You get the weekly (mondays) digest at <strong>alice@example.org</strong>" in html
    assert f'href="/digests/manage/{mine.token}"' in html
    assert "bob@example.org" not in html


def test_profile_says_a_digest_subscription_waits_for_confirmation(client, alice):
    EmailAddress.objects.create(user=alice, email=alice.email, verified=True, primary=True)
    Subscription.objects.create(email="alice@example.org")
    client.force_login(alice)

    html = client.get("/accounts/profile/").content.decode()

    assert "waits for you to click the link in the confirmation mail" in html


def test_profile_without_a_subscription_offers_one(client, alice):
    client.force_login(alice)

    html = client.get("/accounts/profile/").content.decode()

    assert 'href="/digests/"' in html
    assert "Manage your digest" not in html


def test_profile_shows_my_api_tokens_section(client, alice):
    client.force_login(alice)

    html = client.get("/accounts/profile/").content.decode()

    assert 'id="api-tokens"' in html
    assert 'action="/accounts/profile/tokens"' in html
