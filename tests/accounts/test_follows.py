"""Follows: a member follows authors, topics and members; the Following feed shows their
papers newest first, paged; digests list them first."""

from __future__ import annotations

import datetime as dt
from http import HTTPStatus

import pytest
from django.urls import reverse

from digests.mail import DigestRenderer
from digests.periods import daily_period
from digests.selectors import digest_papers
from papers import follows
from papers.caching import changed
from papers.models import AuthorClaim, Follow
from tests.digests.factories import SubscriptionFactory
from tests.factories import PaperFactory

pytestmark = pytest.mark.django_db

FEED = reverse("people:following")
DAY = dt.date(2026, 6, 12)


def _follow(client, kind: str, value: str, **extra):
    return client.post(reverse("people:follow", args=[kind]), {"value": value, **extra})


def _feed_titles(client, page: int = 1) -> list[str]:
    html = client.get(FEED, {"page": page} if page > 1 else {}).content.decode()
    return [t for t in TITLES if t in html]


TITLES = ["Newest by Zoë", "Older by Zoë", "Diffusion that reasons", "Submitted by Bob", "Noise"]


@pytest.fixture
def papers(bob):
    return [
        PaperFactory(
            title=TITLES[0], authors=[{"name": "Zoë Ångström"}], listed_on=dt.date(2026, 6, 14)
        ),
        PaperFactory(title=TITLES[1], authors=[{"name": "Z. Angstrom"}], listed_on=DAY),
        PaperFactory(
            title=TITLES[2], abstract="We study diffusion.", listed_on=dt.date(2026, 6, 13)
        ),
        PaperFactory(title=TITLES[3], submitted_by=bob, listed_on=dt.date(2026, 6, 11)),
        PaperFactory(title=TITLES[4], abstract="Nothing to see.", listed_on=DAY),
    ]


def test_a_member_follows_an_author_a_topic_and_a_member_and_reads_their_papers(
    client, alice, papers, commit
):
    client.force_login(alice)
    assert "You follow nothing yet" in client.get(FEED).content.decode()

    commit(lambda: _follow(client, "author", "zoe angstrom"))
    assert _feed_titles(client) == [TITLES[0], TITLES[1]]  # every spelling, newest first

    commit(lambda: _follow(client, "topic", "diffusion"))
    commit(lambda: _follow(client, "member", "bob"))
    assert _feed_titles(client) == TITLES[:4]

    response = commit(
        lambda: client.post(reverse("people:unfollow", args=["topic"]), {"value": "Diffusion"})
    )
    assert response.status_code == HTTPStatus.FOUND
    assert _feed_titles(client) == [TITLES[0], TITLES[1], TITLES[3]]
    assert Follow.objects.filter(user=alice).count() == 2


def test_a_followed_members_verified_papers_join_the_feed_when_approved(
    client, alice, bob, staff, papers, commit
):
    client.force_login(alice)
    commit(lambda: _follow(client, "member", "bob"))
    assert _feed_titles(client) == [TITLES[3]]

    claim = AuthorClaim.objects.create(
        paper=papers[4], author_index=0, author_name="Ada Lovelace", user=bob
    )
    from papers.claims import decide_claim

    commit(lambda: decide_claim(claim=claim, approve=True, reason="", by=staff))
    assert _feed_titles(client) == [TITLES[3], TITLES[4]]


def test_a_new_paper_by_a_followed_author_reaches_the_feed(client, alice, papers, commit):
    client.force_login(alice)
    commit(lambda: _follow(client, "author", "Zoë Ångström"))
    assert _feed_titles(client) == [TITLES[0], TITLES[1]]

    new = PaperFactory(title="Latest by Zoë", authors=[{"name": "ZOE ANGSTROM"}], listed_on=DAY)
    commit(lambda: changed(papers=[new], catalog=True))
    assert new.title in client.get(FEED).content.decode()


def test_the_feed_is_paged(client, alice, monkeypatch):
    monkeypatch.setattr(follows, "FEED_PAGE_SIZE", 2)
    for n in range(5):
        PaperFactory(title=f"Graph paper {n}", listed_on=DAY + dt.timedelta(days=n))
    client.force_login(alice)
    _follow(client, "topic", "graph")

    first = client.get(FEED).content.decode()
    assert "Graph paper 4" in first
    assert "Graph paper 3" in first
    assert "Graph paper 2" not in first
    assert "?page=2" in first
    last = client.get(FEED, {"page": 3}).content.decode()
    assert "Graph paper 0" in last
    assert "?page=4" not in last


@pytest.mark.parametrize(
    ("kind", "value", "error"),
    [
        ("topic", "   ", "at least one word"),
        ("author", "!!!", "Name the author"),
        ("member", "nobody-here", "No such member"),
        ("member", "alice", "Your own papers"),
    ],
)
def test_a_follow_that_names_nothing_is_refused_clearly(client, alice, kind, value, error):
    client.force_login(alice)
    response = _follow(client, kind, value)
    assert response.status_code == HTTPStatus.FOUND
    assert error in client.get(response["Location"]).content.decode()
    assert not Follow.objects.exists()


def test_an_unknown_kind_is_not_found_and_visitors_sign_in_first(client, alice):
    assert _follow(client, "topic", "graphs")["Location"].startswith("/accounts/login/")
    client.force_login(alice)
    assert _follow(client, "planet", "Mars").status_code == HTTPStatus.NOT_FOUND
    assert not Follow.objects.exists()


def test_following_twice_keeps_one_follow_and_the_number_is_bounded(client, alice, monkeypatch):
    monkeypatch.setattr(follows, "MAX_FOLLOWS", 2)
    client.force_login(alice)
    _follow(client, "topic", "graphs")
    _follow(client, "topic", "Graphs")
    _follow(client, "topic", "agents")
    response = _follow(client, "topic", "robots")
    assert "unfollow some first" in client.get(response["Location"]).content.decode()
    assert sorted(Follow.objects.values_list("key", flat=True)) == ["agents", "graphs"]


def test_follow_buttons_show_whether_the_member_follows(client, alice, bob, papers):
    client.force_login(alice)
    author_url = reverse("papers:author", args=["Zoë Ångström"])
    member_url = reverse("people:member", args=["bob"])
    assert 'aria-pressed="false"' in client.get(author_url).content.decode()
    _follow(client, "author", "Zoë Ångström", next=author_url)
    assert 'aria-pressed="true"' in client.get(author_url).content.decode()
    response = _follow(client, "member", "bob", next=member_url)
    assert response["Location"] == member_url
    assert ">Following<" in client.get(member_url).content.decode()
    client.logout()
    assert "follow-form" not in client.get(member_url).content.decode()


def test_the_feed_costs_the_same_queries_for_many_follows_once_built(
    client, alice, papers, django_assert_max_num_queries
):
    client.force_login(alice)
    for n in range(20):
        _follow(client, "topic", f"word{n}")
    _follow(client, "author", "Zoë Ångström")
    client.get(FEED)
    with django_assert_max_num_queries(5):
        assert client.get(FEED).status_code == HTTPStatus.OK


def test_digests_list_what_the_subscriber_follows_first(alice, bob, papers, commit):
    reader = SubscriptionFactory(email=alice.email, user=alice, keywords=["nothing-matches"])
    stranger = SubscriptionFactory(keywords=["nothing-matches"])
    follows.follow(user=alice, kind="author", value="Zoë Ångström")
    follows.follow(user=alice, kind="member", value="bob")
    period = daily_period(DAY)
    renderer = DigestRenderer(period, digest_papers(period), top_n=5)

    followed = follows.followed_by([alice.pk])
    outgoing = renderer.message(reader, followed.get(alice.pk))
    assert outgoing is not None
    text = outgoing.build().body
    assert TITLES[1] in text  # Z. Angstrom's, listed that day
    assert TITLES[4] not in text
    assert renderer.message(stranger) is None  # no follows: the keywords match nothing


def test_a_search_offers_to_follow_its_words(client, alice, papers):
    client.force_login(alice)
    page = client.get(reverse("papers:search"), {"q": "diffusion"}).content.decode()
    assert 'action="/following/topic"' in page
    assert 'name="value" value="diffusion"' in page
