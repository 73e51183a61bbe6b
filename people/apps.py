from __future__ import annotations

from django.apps import AppConfig


class PeopleConfig(AppConfig):
    """Pages about members that gather what every app knows of them (their papers, votes,
    digest subscription): on top of accounts, papers and digests."""

    name = "people"
    verbose_name = "People"
