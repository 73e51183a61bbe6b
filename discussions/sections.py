"""The discussion on the paper page (a papers.sections section), and the same section
rendered for one member (what htmx swaps in after a write).

The section is rendered once per version of the discussion and audience; each comment
once per version (`skeletons.fragments`). What differs between members is left in holes:
the CSRF token, `own:<author>` (the author's own controls: ` hidden` for everyone else)
and `reacted:<comment>:<emoji index>` (aria-pressed of their reactions, where there are
any).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.html import escape

from accounts.models import User
from caching import skeletons
from caching.skeletons import MEMBER, Skeleton, hole
from discussions import selectors
from discussions.models import REACTIONS
from discussions.selectors import Shown
from papers import sections
from papers.models import Paper

HIDDEN = b" hidden"
_PRESSED = {True: b"true", False: b"false"}


def _comment_html(shown: Shown, *, member: bool, reply: bool) -> str:
    comment = shown.comment
    key = ("comment", comment.pk, comment.updated_at, member, tuple(shown.reactions.items()))
    text = skeletons.fragments.get(key)
    if text is None:
        text = render_to_string(
            "discussions/includes/comment.html",
            {
                "comment": comment,
                "shown": shown,
                "reply": reply,
                # One hole per author, wherever their comments are: a member's page fills
                # as many of these as the discussion has authors.
                "own": hole("own", comment.author_id),
                # Nobody has reacted with an emoji whose count is 0: no hole there.
                "reactions": [
                    (emoji, count, hole("reacted", f"{comment.pk}:{i}") if count else "false")
                    for i, emoji, count in shown.reaction_list
                ],
                "user": MEMBER if member else AnonymousUser(),
                "csrf_token": skeletons.CSRF if member else None,
            },
        )
        skeletons.fragments.put(key, text, len(text))
    return text


def render_discussion(paper: Paper, *, member: bool) -> str:
    threads = [
        (
            _comment_html(shown, member=member, reply=False),
            [_comment_html(reply, member=member, reply=True) for reply in shown.replies],
            shown,
        )
        for shown in selectors.thread(paper)
    ]
    return render_to_string(
        "discussions/includes/discussion.html",
        {
            "paper": paper,
            "threads": threads,
            "user": MEMBER if member else AnonymousUser(),
            "csrf_token": skeletons.CSRF if member else None,
            "login_next": hole("login_next"),
        },
    )


def personal_values(user: User, holes: Sequence[str]) -> dict[str, bytes]:
    """The values of the discussion's holes for this member: one query for their
    reactions, none when the discussion has no comment."""
    values: dict[str, bytes] = {}
    reaction_holes: list[tuple[str, int, int]] = []
    for name in holes:
        kind, _, rest = name.partition(":")
        if kind == "own":
            values[name] = b"" if int(rest) == user.pk else HIDDEN
        elif kind == "reacted":
            comment, _, position = rest.partition(":")
            reaction_holes.append((name, int(comment), int(position)))
    if reaction_holes:
        mine = selectors.reacted(user, sorted({c for _, c, _ in reaction_holes}))
        for name, comment_id, i in reaction_holes:
            values[name] = _PRESSED[(comment_id, REACTIONS[i]) in mine]
    return values


class DiscussionSection:
    def scopes(self, arxiv_id: str) -> list[str]:
        return [f"discussion:{arxiv_id}"]

    def render(self, paper: Paper, *, member: bool) -> str:
        return render_discussion(paper, member=member)

    def personal(self, user: User, holes: Sequence[str]) -> Mapping[str, bytes]:
        return personal_values(user, holes)


def discussion_for(request: HttpRequest, paper: Paper, user: User) -> bytes:
    """The section as this member sees it now (what htmx swaps in after a write)."""
    skeleton = Skeleton.parse(render_discussion(paper, member=True))
    here = request.POST.get("next") or request.path
    values: dict[str, bytes] = {
        "csrf": escape(skeletons.csrf_token(request)).encode(),
        "login_next": escape(here).encode(),
        **personal_values(user, skeleton.holes),
    }
    body: bytes = skeleton.encoded().fill(values)
    return body


sections.register(DiscussionSection())
