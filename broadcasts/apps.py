from __future__ import annotations

from django.apps import AppConfig


class BroadcastsConfig(AppConfig):
    """The day's and the week's top papers posted to a team's chat (Slack, Discord,
    Mattermost, Microsoft Teams or any webhook): on top of digests, which choose the papers."""

    name = "broadcasts"
    verbose_name = "Team channels"
