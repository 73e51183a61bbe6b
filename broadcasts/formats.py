"""What each chat tool's incoming webhook takes: Slack's Block Kit, Discord's embeds,
Mattermost's attachments, a Microsoft Teams Adaptive Card (through a Workflows webhook), or
plain JSON for anything else. Each is a title line and one entry per paper: its title as a
link, its votes, its first authors and the first sentences of its summary."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings

from broadcasts.models import Kind
from digests.periods import DigestPeriod
from digests.selectors import DigestPaper

SUMMARY_CHARS = 280  # a chat message, not a digest: two sentences or so


def heading(period: DigestPeriod) -> str:
    what = "this week's" if period.frequency == "weekly" else "the day's"
    return f"Top papers: {what} most upvoted, {period.label}"


def byline(paper: DigestPaper) -> str:
    names = ", ".join(paper.authors)
    more = f" and {paper.more_authors} more" if paper.more_authors else ""
    return f"▲ {paper.votes} · {names}{more}"


def _summary(paper: DigestPaper) -> str:
    text = paper.summary
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1].rstrip() + "…"


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack(period: DigestPeriod, papers: Sequence[DigestPaper]) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": heading(period)[:150]}}
    ]
    for paper in papers:
        title = _slack_escape(paper.title).replace("|", "¦")
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"*<{paper.url}|{title}>*\n{_slack_escape(byline(paper))}\n"
                    f"{_slack_escape(_summary(paper))}"[:3000],
                },
            }
        )
    blocks.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"<{settings.SITE_URL}|Daily Papers>"}],
        }
    )
    return {"text": heading(period), "blocks": blocks}


def discord(period: DigestPeriod, papers: Sequence[DigestPaper]) -> dict[str, Any]:
    return {
        "content": f"**{heading(period)}**",
        "embeds": [
            {
                "title": paper.title[:256],
                "url": paper.url,
                "description": _summary(paper),
                "footer": {"text": byline(paper)[:2048]},
            }
            for paper in papers[:10]  # Discord takes ten embeds a message
        ],
        "allowed_mentions": {"parse": []},
    }


def mattermost(period: DigestPeriod, papers: Sequence[DigestPaper]) -> dict[str, Any]:
    return {
        "text": f"#### {heading(period)}",
        "attachments": [
            {
                "fallback": f"{paper.title}: {paper.url}",
                "title": paper.title,
                "title_link": paper.url,
                "text": _summary(paper),
                "footer": byline(paper),
            }
            for paper in papers
        ],
    }


def teams(period: DigestPeriod, papers: Sequence[DigestPaper]) -> dict[str, Any]:
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": heading(period),
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
        }
    ]
    for paper in papers:
        body += [
            {
                "type": "TextBlock",
                "text": f"[{paper.title}]({paper.url})",
                "weight": "Bolder",
                "wrap": True,
                "spacing": "Medium",
            },
            {"type": "TextBlock", "text": byline(paper), "isSubtle": True, "wrap": True},
            {"type": "TextBlock", "text": _summary(paper), "wrap": True},
        ]
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
        ],
    }


def webhook(period: DigestPeriod, papers: Sequence[DigestPaper]) -> dict[str, Any]:
    return {
        "text": heading(period),
        "frequency": period.frequency,
        "period": period.key,
        "papers": [
            {
                "id": paper.arxiv_id,
                "title": paper.title,
                "url": paper.url,
                "upvotes": paper.votes,
                "authors": list(paper.authors),
                "summary": paper.summary,
            }
            for paper in papers
        ],
    }


PAYLOADS = {
    Kind.SLACK: slack,
    Kind.DISCORD: discord,
    Kind.MATTERMOST: mattermost,
    Kind.TEAMS: teams,
    Kind.WEBHOOK: webhook,
}


def payload(kind: str, period: DigestPeriod, papers: Sequence[DigestPaper]) -> dict[str, Any]:
    return PAYLOADS[Kind(kind)](period, papers)
