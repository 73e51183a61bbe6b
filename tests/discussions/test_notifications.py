"""Mentions and replies by mail: batched, at most one mail an hour per member, only to
confirmed addresses, never after an opt-out."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from allauth.account.models import EmailAddress

from discussions.models import Notification
from discussions.notifications import notifications_mail_due
from discussions.services import comment_post
from tests.factories import PaperFactory

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 6, 12, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def confirmed(bob):
    EmailAddress.objects.create(user=bob, email=bob.email, verified=True, primary=True)
    return bob


def test_mentions_and_replies_are_batched_into_one_mail_an_hour(
    alice, confirmed, commit, mailoutbox
):
    paper = PaperFactory(title="Attention sinks")
    with time_machine.travel(NOW, tick=False) as clock:
        question = commit(lambda: comment_post(user=confirmed, paper=paper, body="Why?"))
        commit(lambda: comment_post(user=alice, paper=paper, body="Because", parent=question))
        commit(lambda: comment_post(user=alice, paper=paper, body="cc @bob"))
        assert notifications_mail_due() == 1
        assert len(mailoutbox) == 1
        text = mailoutbox[0].body
        assert "alice replied to your comment" in text
        assert "alice mentioned you" in text
        assert f"/papers/{paper.arxiv_id}#comment-" in text
        assert mailoutbox[0].to == [confirmed.email]

        commit(lambda: comment_post(user=alice, paper=paper, body="@bob again"))
        clock.shift(dt.timedelta(minutes=30))
        assert notifications_mail_due() == 0  # within the hour: it waits
        clock.shift(dt.timedelta(minutes=31))
        assert notifications_mail_due() == 1
        assert notifications_mail_due() == 0  # nothing twice
    assert len(mailoutbox) == 2
    assert "@bob again" in mailoutbox[1].body


def test_an_unconfirmed_address_gets_nothing(alice, bob, commit, mailoutbox):
    EmailAddress.objects.create(user=bob, email=bob.email, verified=False, primary=True)
    commit(lambda: comment_post(user=alice, paper=PaperFactory(), body="@bob look"))
    assert notifications_mail_due() == 0
    assert mailoutbox == []
    assert not Notification.objects.exists()  # dropped, not sent late


def test_a_member_who_opted_out_gets_nothing(alice, confirmed, commit, mailoutbox):
    confirmed.notify_by_email = False
    confirmed.save()
    commit(lambda: comment_post(user=alice, paper=PaperFactory(), body="@bob look"))
    assert notifications_mail_due() == 0
    assert mailoutbox == []


def test_the_opt_out_is_on_the_profile(client, bob):
    client.force_login(bob)
    client.post("/accounts/profile/notifications", {})
    bob.refresh_from_db()
    assert bob.notify_by_email is False
    client.post("/accounts/profile/notifications", {"notify_by_email": "on"})
    bob.refresh_from_db()
    assert bob.notify_by_email is True
