""" "For you": the recent papers ranked by what a member upvoted, saved and follows, each
with its reason; a member with nothing yet picks topics to start."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from papers import foryou, vectors
from papers.embeddings import embed_stale
from papers.models import Upvote
from readinglists.services import collection_create, item_add
from tests.factories import PaperFactory

pytestmark = pytest.mark.django_db

FOR_YOU = reverse("people:for-you")

TOPICS = {
    "speech": [
        ("Emotional speech synthesis for a low-resource language", "A text-to-speech voice."),
        ("Streaming speech recognition on phones", "Automatic speech recognition, small."),
        ("Voice cloning from a few seconds of audio", "Speaker adaptation for speech synthesis."),
    ],
    "robots": [
        ("Robots that open drawers", "Manipulation of articulated objects by a robot arm."),
        ("Legged robots walking on ice", "Locomotion control for quadruped robots."),
        ("Grasping unknown objects", "A robot hand learns to grasp from tactile feedback."),
    ],
}


@pytest.fixture
def recent():
    today = timezone.now().date()
    made = {
        topic: [
            PaperFactory(title=t, abstract=a, listed_on=today - dt.timedelta(days=i))
            for i, (t, a) in enumerate(items)
        ]
        for topic, items in TOPICS.items()
    }
    embed_stale()
    vectors.forget()
    return made


def _order(client) -> list[str]:
    """The titles of the cards, in their order (reasons name papers too)."""
    html = client.get(FOR_YOU).content.decode()
    cards = html.split('class="card-title"')[1:]
    titles = [t for items in TOPICS.values() for t, _a in items]
    return [next(t for t in titles if t in card.split("</h2>")[0]) for card in cards]


def test_a_member_with_nothing_yet_picks_topics(client, alice, recent):
    client.force_login(alice)
    page = client.get(FOR_YOU).content.decode()
    assert "pick a few topics" in page
    assert 'name="value" value="robotics"' in page


def test_upvotes_rank_the_feed_and_each_paper_says_why(client, alice, recent, commit):
    Upvote.objects.create(user=alice, paper=recent["speech"][0])
    client.force_login(alice)
    order = _order(client)
    assert recent["speech"][0].title not in order  # upvoted already
    assert set(order[:2]) == {recent["speech"][1].title, recent["speech"][2].title}
    page = client.get(FOR_YOU).content.decode()
    assert f"Because you upvoted “{recent['speech'][0].title}”" in page


def test_following_a_topic_and_saving_papers_change_the_ranking(client, alice, recent, commit):
    client.force_login(alice)
    commit(lambda: client.post(reverse("people:follow", args=["topic"]), {"value": "robots"}))
    assert set(_order(client)[:3]) == {p.title for p in recent["robots"]}

    reading = collection_create(owner=alice, name="Audio", visibility="private")
    for paper in recent["speech"][:2]:
        commit(lambda paper=paper: item_add(user=alice, collection=reading, paper=paper))
    page = client.get(FOR_YOU).content.decode()
    assert "Because you saved" in page


def test_the_taste_is_rebuilt_in_the_background_when_the_member_acts(
    alice, recent, commit, monkeypatch
):
    built = []
    real = foryou.build_taste
    monkeypatch.setattr(foryou, "build_taste", lambda user: built.append(user.pk) or real(user))

    reading = collection_create(owner=alice, name="Robots", visibility="public")
    commit(lambda: item_add(user=alice, collection=reading, paper=recent["robots"][0]))
    assert built == [alice.pk]  # the task rebuilt it after the save
    assert foryou.taste(alice).vector is not None
    assert built == [alice.pk]  # the next read finds it ready


def test_a_for_you_digest_ranks_the_period_by_the_members_taste(alice, recent):
    from digests.mail import DigestRenderer
    from digests.periods import daily_period
    from digests.selectors import digest_papers
    from tests.digests.factories import SubscriptionFactory

    day = timezone.now().date()
    Upvote.objects.create(user=alice, paper=recent["robots"][1])
    for paper in [*recent["speech"], *recent["robots"]]:
        paper.listed_on = day
        paper.source_upvotes = 100 if paper in recent["speech"] else 0  # speech leads by votes
        paper.save()
    embed_stale()
    reader = SubscriptionFactory(email=alice.email, user=alice, for_you=True)
    period = daily_period(day)
    renderer = DigestRenderer(period, digest_papers(period), top_n=2)

    by_votes = renderer.message(reader).build().body
    for_you = renderer.message(reader, taste=foryou.taste(alice).vector).build().body
    assert not any(paper.title in by_votes for paper in recent["robots"])  # speech leads
    assert recent["robots"][1].title in for_you
    assert not any(paper.title in for_you for paper in recent["speech"])


def test_only_a_members_subscription_can_be_for_you(client, alice):
    from digests.models import Subscription
    from tests.digests.factories import SubscriptionFactory

    linked = SubscriptionFactory(email=alice.email, user=alice)
    anonymous = SubscriptionFactory()
    for subscription in (linked, anonymous):
        url = reverse("digests:manage", args=[subscription.token])
        page = client.get(url).content.decode()
        assert ('name="for_you"' in page) is (subscription is linked)
        client.post(url, {"frequency": "daily", "keywords": "", "for_you": "on"})
    assert Subscription.objects.get(pk=linked.pk).for_you is True
    assert Subscription.objects.get(pk=anonymous.pk).for_you is False
