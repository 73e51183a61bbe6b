"""Team channels: each kind of chat tool gets exactly one well-formed post of the period's
top papers, through a local HTTP server that answers as the real services do (Slack 200
"ok", Discord 204, Mattermost 200 "ok", Teams 202, 429 with Retry-After), across retries
and a worker that stops mid-send."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from werkzeug import Request, Response

from broadcasts import services, tasks
from broadcasts.models import Channel, Kind, Post
from config.celery import beat_schedule
from tests.factories import PaperFactory

pytestmark = pytest.mark.django_db

MONDAY_9AM = datetime(2026, 6, 15, 9, 0, tzinfo=UTC)  # the daily post covers Friday Jun 12
REPLIES = {
    Kind.SLACK: (200, "ok"),
    Kind.DISCORD: (204, ""),
    Kind.MATTERMOST: (200, "ok"),
    Kind.TEAMS: (202, ""),
    Kind.WEBHOOK: (200, ""),
}


@pytest.fixture
def papers():
    return [
        PaperFactory(title="Diffusion for Robots", upvote_count=30),
        PaperFactory(title="Speculative Decoding at Scale", upvote_count=20),
        PaperFactory(title="Graph Networks for Molecules", upvote_count=10),
        PaperFactory(title="A Weekend Paper", listed_on=date(2026, 6, 13)),
    ]


def channel(httpserver, kind: str, **fields) -> Channel:
    fields.setdefault("name", f"#{kind}")
    fields.setdefault("send_hour", 8)
    return Channel.objects.create(kind=kind, url=httpserver.url_for(f"/hooks/{kind}"), **fields)


def answer_like_the_service(httpserver, kind: str) -> None:
    status, body = REPLIES[Kind(kind)]
    httpserver.expect_request(f"/hooks/{kind}", method="POST").respond_with_data(body, status)


def received(httpserver, path: str) -> list[dict]:
    return [json.loads(request.data) for request, _ in httpserver.log if request.path == path]


def test_every_kind_gets_one_well_formed_post_a_period(httpserver, papers):
    for kind in Kind:
        channel(httpserver, kind, paper_count=3)
        answer_like_the_service(httpserver, kind)

    first = services.post_due(now=MONDAY_9AM)
    again = services.post_due(now=MONDAY_9AM + timedelta(hours=2))

    assert (first.sent, again.sent) == (5, 0)
    assert set(Post.objects.values_list("status", flat=True)) == {"sent"}
    assert len(httpserver.log) == 5
    top = papers[0]

    (slack,) = received(httpserver, "/hooks/slack")
    assert slack["blocks"][0]["type"] == "header"
    assert "Fri Jun 12" in slack["blocks"][0]["text"]["text"]
    sections = [b for b in slack["blocks"] if b["type"] == "section"]
    assert len(sections) == 3
    assert sections[0]["text"]["type"] == "mrkdwn"
    assert f"/papers/{top.arxiv_id}|Diffusion for Robots>*" in sections[0]["text"]["text"]
    assert "▲ 30" in sections[0]["text"]["text"]
    assert slack["text"]  # the notification's fallback

    (discord,) = received(httpserver, "/hooks/discord")
    assert [e["title"] for e in discord["embeds"]] == [p.title for p in papers[:3]]
    assert discord["embeds"][0]["url"].endswith(f"/papers/{top.arxiv_id}")
    assert discord["allowed_mentions"] == {"parse": []}

    (mattermost,) = received(httpserver, "/hooks/mattermost")
    assert mattermost["attachments"][1]["title"] == "Speculative Decoding at Scale"
    assert mattermost["attachments"][1]["title_link"].endswith(f"/papers/{papers[1].arxiv_id}")

    (teams,) = received(httpserver, "/hooks/teams")
    card = teams["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["content"]["type"] == "AdaptiveCard"
    assert card["content"]["version"] == "1.4"
    texts = [block["text"] for block in card["content"]["body"]]
    assert f"[Diffusion for Robots]({top_url(top)})" in texts

    (hook,) = received(httpserver, "/hooks/webhook")
    assert hook["period"] == "2026-06-12"
    assert [p["id"] for p in hook["papers"]] == [p.arxiv_id for p in papers[:3]]
    assert hook["papers"][0]["upvotes"] == 30


def top_url(paper) -> str:
    from django.conf import settings

    return f"{settings.SITE_URL}/papers/{paper.arxiv_id}"


def test_a_429_is_retried_no_sooner_than_retry_after(httpserver, papers):
    channel(httpserver, Kind.SLACK)
    httpserver.expect_ordered_request("/hooks/slack").respond_with_data(
        "rate_limited", 429, headers={"Retry-After": "600"}
    )
    httpserver.expect_ordered_request("/hooks/slack").respond_with_data("ok", 200)

    assert services.post_due(now=MONDAY_9AM).retrying == 1
    post = Post.objects.get()
    assert post.status == "pending"
    assert post.next_attempt_at == MONDAY_9AM + timedelta(seconds=600)
    assert "HTTP 429" in post.error
    assert services.post_due(now=MONDAY_9AM + timedelta(minutes=5)).sent == 0  # too soon
    assert services.post_due(now=MONDAY_9AM + timedelta(minutes=11)).sent == 1
    post.refresh_from_db()
    assert (post.status, post.attempts, post.paper_count) == (
        "sent",
        2,
        4,
    )  # Friday and the weekend
    assert len(httpserver.log) == 2


def test_discord_says_how_long_to_wait_in_its_body(httpserver, papers):
    channel(httpserver, Kind.DISCORD)
    httpserver.expect_request("/hooks/discord").respond_with_json(
        {"message": "You are being rate limited.", "retry_after": 300.5, "global": False},
        status=429,
    )
    services.post_due(now=MONDAY_9AM)
    post = Post.objects.get()
    assert post.next_attempt_at == MONDAY_9AM + timedelta(seconds=300.5)


def test_server_errors_back_off_then_fail_visibly(httpserver, papers):
    channel(httpserver, Kind.MATTERMOST)
    httpserver.expect_request("/hooks/mattermost").respond_with_data("down", 503)
    now = MONDAY_9AM
    waits = []
    for _ in range(services.MAX_ATTEMPTS):
        services.post_due(now=now)
        post = Post.objects.get()
        waits.append(post.next_attempt_at - now)
        now = post.next_attempt_at
    assert waits[:3] == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4)]
    assert post.status == "failed"
    assert "attempt 6: HTTP 503" in post.error
    assert len(httpserver.log) == services.MAX_ATTEMPTS


def test_a_refused_webhook_fails_at_once(httpserver, papers):
    channel(httpserver, Kind.SLACK)
    httpserver.expect_request("/hooks/slack").respond_with_data("no_service", 404)
    report = services.post_due(now=MONDAY_9AM)
    assert report.failed == 1
    post = Post.objects.get()
    assert post.status == "failed"
    assert "HTTP 404: no_service" in post.error
    services.post_due(now=MONDAY_9AM + timedelta(hours=3))
    assert len(httpserver.log) == 1


def test_a_worker_stopped_mid_send_posts_nothing_twice(httpserver, papers, monkeypatch):
    channel(httpserver, Kind.DISCORD)
    answer_like_the_service(httpserver, Kind.DISCORD)
    deliver = services.deliver

    def killed(url, body):
        deliver(url, body)  # the message went out, then the worker died
        raise SystemExit("worker killed")

    monkeypatch.setattr(services, "deliver", killed)
    with pytest.raises(SystemExit):
        services.post_due(now=MONDAY_9AM)
    monkeypatch.setattr(services, "deliver", deliver)
    assert Post.objects.get().status == "sending"

    services.post_due(now=MONDAY_9AM + timedelta(minutes=5))  # still sending: left alone
    services.post_due(now=MONDAY_9AM + timedelta(minutes=20))  # interrupted: failed
    post = Post.objects.get()
    assert post.status == "failed"
    assert "Interrupted while sending" in post.error
    services.post_due(now=MONDAY_9AM + timedelta(hours=5))
    assert len(received(httpserver, "/hooks/discord")) == 1

    assert services.post_again([post]) == 1  # staff decide to send it again
    services.post_due(now=datetime.now(UTC))
    post.refresh_from_db()
    assert post.status == "sent"
    assert len(received(httpserver, "/hooks/discord")) == 2


def test_a_post_is_claimed_once_when_two_workers_race(httpserver, papers):
    hook = channel(httpserver, Kind.WEBHOOK)
    post = Post.objects.create(channel=hook, period="2026-06-12", next_attempt_at=MONDAY_9AM)
    assert services._claim(post, MONDAY_9AM) is True
    assert services._claim(Post.objects.get(pk=post.pk), MONDAY_9AM) is False


def test_keywords_and_the_number_of_papers_choose_what_is_posted(httpserver, papers):
    channel(httpserver, Kind.WEBHOOK, keywords=["decoding", "molecules"], paper_count=1)
    channel(httpserver, Kind.SLACK, keywords=["quantum chemistry"])
    answer_like_the_service(httpserver, Kind.WEBHOOK)
    report = services.post_due(now=MONDAY_9AM)
    (hook,) = received(httpserver, "/hooks/webhook")
    assert [p["title"] for p in hook["papers"]] == ["Speculative Decoding at Scale"]
    assert report.skipped == 1
    skipped = Post.objects.get(channel__kind="slack")
    assert (skipped.status, skipped.error) == ("skipped", "No paper of the period matched.")


def test_posts_wait_for_their_hour_weekdays_and_mondays(httpserver, papers):
    daily = channel(httpserver, Kind.WEBHOOK, send_hour=10)
    weekly = channel(httpserver, Kind.SLACK, frequency="weekly", name="#weekly")
    services.post_due(now=MONDAY_9AM)  # before the daily one's hour; the weekly one's day
    assert list(Post.objects.values_list("channel", "period")) == [(weekly.pk, "2026-W24")]
    services.post_due(now=datetime(2026, 6, 20, 12, tzinfo=UTC))  # Saturday: no daily post
    services.post_due(now=datetime(2026, 6, 16, 12, tzinfo=UTC))  # Tuesday: no weekly post
    assert sorted(Post.objects.values_list("channel", "period")) == sorted(
        [(weekly.pk, "2026-W24"), (daily.pk, "2026-06-15")]
    )
    Channel.objects.update(active=False)
    services.post_due(now=datetime(2026, 6, 17, 12, tzinfo=UTC))
    assert Post.objects.count() == 2


def test_the_beat_posts_every_few_minutes(httpserver, papers):
    entry = beat_schedule()["post-to-team-channels"]
    assert entry["task"] == "broadcasts.post_due"
    assert entry["schedule"].run_every == timedelta(minutes=5)
    assert isinstance(tasks.post_due(), str)


def test_a_server_that_hangs_up_is_retried(httpserver, papers):
    channel(httpserver, Kind.TEAMS)

    def hang_up(request: Request) -> Response:
        raise ConnectionResetError("reset")

    httpserver.expect_request("/hooks/teams").respond_with_handler(hang_up)
    services.post_due(now=MONDAY_9AM)
    post = Post.objects.get()
    assert post.status == "pending"
    assert post.error.startswith("attempt 1:")


@pytest.mark.parametrize("kind", list(Kind))
def test_each_kind_gets_exactly_one_post_across_a_crash_and_a_retry(httpserver, papers, kind):
    """A worker dies after claiming the post but before its request; the next attempt is
    answered 429 with Retry-After; the one after goes through. The channel sees one post."""
    channel(httpserver, kind)
    httpserver.expect_ordered_request(f"/hooks/{kind}").respond_with_data(
        "slow down", 429, headers={"Retry-After": "120"}
    )
    status, body = REPLIES[Kind(kind)]
    httpserver.expect_ordered_request(f"/hooks/{kind}").respond_with_data(body, status)

    def killed_before_the_request(*args):
        raise SystemExit("worker killed")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(services, "payload", killed_before_the_request)
        with pytest.raises(SystemExit):
            services.post_due(now=MONDAY_9AM)
    assert Post.objects.get().status == "sending"
    assert services.post_due(now=MONDAY_9AM + timedelta(minutes=15)).retrying == 1  # 429
    assert services.post_due(now=MONDAY_9AM + timedelta(minutes=16)).sent == 0  # waits
    assert services.post_due(now=MONDAY_9AM + timedelta(minutes=18)).sent == 1
    services.post_due(now=MONDAY_9AM + timedelta(hours=6))
    accepted = [r for r, answer in httpserver.log if answer.status_code == status]
    assert len(accepted) == 1
    post = Post.objects.get()
    assert (post.status, post.attempts) == ("sent", 3)
    assert json.loads(accepted[0].data) == json.loads(httpserver.log[0][0].data)  # same post
