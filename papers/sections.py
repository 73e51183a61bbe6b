"""Sections other apps add to the paper page, below the abstract (the discussion).

The paper page is cached like the feeds (papers/caching.py): a section renders its HTML
once per audience with holes where a member's own state goes, names the cache scopes it
shows, and fills its holes for each member from what it is given. Apps above `papers`
register their sections when they load (their AppConfig.ready), so `papers` never
imports them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from accounts.models import User
from papers.models import Paper


class PaperSection(Protocol):
    def scopes(self, arxiv_id: str) -> list[str]:
        """The cache scopes of what the section shows, known before it is read."""
        ...

    def render(self, paper: Paper, *, member: bool) -> str:
        """The section's HTML for visitors or for any member, in a constant number of
        queries; member-only state goes in holes named `<prefix>:...`."""
        ...

    def personal(self, user: User, holes: Sequence[str]) -> Mapping[str, bytes]:
        """The values of the holes (among `holes`) the section named, for this member."""
        ...


_sections: list[PaperSection] = []


def register(section: PaperSection) -> None:
    _sections.append(section)


def registered() -> tuple[PaperSection, ...]:
    return tuple(_sections)
