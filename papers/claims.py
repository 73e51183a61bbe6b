"""Author claims: a member says "this author of this paper is me", staff approve or reject
it with a reason, and an approved author is shown verified, linked to their profile (on
the paper page, the author page and in the API's `authors[].user`).

A rejected claim stays on record with its reason, and the member can claim again: a new
claim, which staff decide anew. Staff claiming for a member (the API's `targetUserId`)
approve at once.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from http import HTTPStatus

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from caching import store
from caching.users import member_scope
from config.refusals import Refused
from papers.authors import author_key
from papers.caching import changed
from papers.models import AuthorClaim, Paper
from papers.selectors import listing

MAX_PENDING = 50  # claims one member may have waiting at once
_AUTHOR_ID = re.compile(r"^([0-9a-f]{16})([0-9a-f]{8})$")


CLAIMS_SCOPE = "claims"  # announced when a claim is approved, or an approval undone


def author_scope(key: str) -> str:
    """The scope of an author page (what a claim on that author changes)."""
    return f"author:{key}"


def author_id(paper: Paper, index: int) -> str:
    """The `_id` of a paper's author entry, as the API shows it (and claims name it)."""
    return f"{paper.pk:016x}{index:08x}"


def parse_author_id(text: str) -> tuple[int, int] | None:
    """(paper id, author index) from an author entry's `_id`, or None."""
    found = _AUTHOR_ID.match(text)
    if found is None:
        return None
    return int(found[1], 16), int(found[2], 16)


class ClaimRefused(Refused):
    pass


def _announce(claim: AuthorClaim) -> None:
    changed(
        papers=[claim.paper],
        hard_scopes=[author_scope(claim.author_key), member_scope(claim.user_id), CLAIMS_SCOPE],
    )


def claim_author(
    *, user: User, paper: Paper, index: int, approved_by: User | None = None
) -> AuthorClaim:
    """The member's claim to be the paper's author at `index`: pending, or approved at
    once when staff make it (`approved_by`). Refused when that author is someone else's
    already, or the member has a claim on this paper already."""
    if not 0 <= index < len(paper.authors):
        raise ClaimRefused("This paper has no such author.")
    name = str(paper.authors[index].get("name", ""))
    taken = (
        AuthorClaim.objects.filter(paper=paper, author_index=index, status="approved")
        .select_related("user")
        .first()
    )
    if taken is not None:
        who = "you" if taken.user_id == user.pk else taken.user.public_name
        raise ClaimRefused(f"{name} is claimed by {who} already.", HTTPStatus.CONFLICT)
    mine = AuthorClaim.objects.filter(
        paper=paper, user=user, status__in=["pending", "approved"]
    ).first()
    if mine is not None:
        raise ClaimRefused(
            f"You claimed {mine.author_name} on this paper already ({mine.get_status_display()}).",
            HTTPStatus.CONFLICT,
        )
    if approved_by is None and (
        AuthorClaim.objects.filter(user=user, status="pending").count() >= MAX_PENDING
    ):
        raise ClaimRefused(
            f"You have {MAX_PENDING} claims waiting for a moderator: wait for them to be "
            "decided before making more.",
            HTTPStatus.TOO_MANY_REQUESTS,
        )
    claim = AuthorClaim(
        paper=paper, author_index=index, author_name=name, author_key=author_key(name), user=user
    )
    if approved_by is not None:
        claim.status = AuthorClaim.Status.APPROVED
        claim.decided_at = timezone.now()
        claim.decided_by = approved_by
    try:
        with transaction.atomic():
            claim.save()
    except IntegrityError:  # a claim made at the same moment won
        raise ClaimRefused(
            f"{name} was claimed at the same moment: reload the paper.", HTTPStatus.CONFLICT
        ) from None
    if claim.status == AuthorClaim.Status.APPROVED:
        transaction.on_commit(lambda: _announce(claim))
    return claim


def decide_claim(*, claim: AuthorClaim, approve: bool, reason: str, by: User) -> None:
    """Approve the claim, or reject it with a reason the member is shown."""
    reason = reason.strip()
    if not approve and not reason:
        raise ClaimRefused("Say why the claim is rejected: the member is shown the reason.")
    was_approved = claim.status == AuthorClaim.Status.APPROVED
    claim.status = AuthorClaim.Status.APPROVED if approve else AuthorClaim.Status.REJECTED
    claim.reason = "" if approve else reason
    claim.decided_at = timezone.now()
    claim.decided_by = by
    try:
        with transaction.atomic():
            claim.save(update_fields=["status", "reason", "decided_at", "decided_by"])
    except IntegrityError:
        raise ClaimRefused(
            f"{claim.author_name} on this paper is another member's already: reject one of "
            "the two claims.",
            HTTPStatus.CONFLICT,
        ) from None
    if approve or was_approved:
        transaction.on_commit(lambda: _announce(claim))


# --- reads -----------------------------------------------------------------------------------


def claimed_papers() -> frozenset[int]:
    """The papers with an approved claim (few of them), kept until a claim is decided: a
    list of papers nobody claimed costs no query."""

    def build() -> store.Built:
        approved = AuthorClaim.objects.filter(status=AuthorClaim.Status.APPROVED)
        ids = frozenset(approved.values_list("paper_id", flat=True))
        return store.Built(ids, (), 64 + 16 * len(ids))

    found: frozenset[int] = store.fetch("claims:papers", build, scopes=[CLAIMS_SCOPE]).value
    return found


def approved_claims(paper_ids: Iterable[int]) -> dict[int, dict[int, AuthorClaim]]:
    """{paper id: {author index: its approved claim, with the member}}: one query, none
    when no paper of these has one."""
    found: dict[int, dict[int, AuthorClaim]] = defaultdict(dict)
    claimed = claimed_papers()
    ids = [pk for pk in paper_ids if pk in claimed]
    if ids:
        for claim in AuthorClaim.objects.filter(
            paper_id__in=ids, status=AuthorClaim.Status.APPROVED
        ).select_related("user"):
            found[claim.paper_id][claim.author_index] = claim
    return dict(found)


def attach_claims(papers: Sequence[Paper]) -> None:
    """Set each paper's `verified` ({author index: approved claim}): one query for all."""
    claims = approved_claims(paper.pk for paper in papers)
    for paper in papers:
        paper.verified = claims.get(paper.pk, {})  # type: ignore[attr-defined]


def verified_authors(paper: Paper) -> dict[int, AuthorClaim]:
    """The paper's approved claims by author index (attached, or read now)."""
    if not hasattr(paper, "verified"):
        attach_claims([paper])
    verified: dict[int, AuthorClaim] = paper.verified  # type: ignore[attr-defined]
    return verified


@dataclass(frozen=True, slots=True)
class ShownAuthor:
    """An author as a page lists them: the name, and the member who proved it is them."""

    name: str
    member: User | None


def shown_authors(paper: Paper) -> list[ShownAuthor]:
    verified = verified_authors(paper)
    return [
        ShownAuthor(
            str(author.get("name", "")),
            claim.user if (claim := verified.get(index)) is not None else None,
        )
        for index, author in enumerate(paper.authors)
    ]


def members_of_author(key: str) -> list[User]:
    """The members with an approved claim on an author of this key."""
    ids = AuthorClaim.objects.filter(author_key=key, status=AuthorClaim.Status.APPROVED).values(
        "user_id"
    )
    return list(User.objects.filter(pk__in=ids, is_active=True).order_by("username"))


def authored_papers(user: User, *, limit: int) -> list[Paper]:
    """The visible papers the member is a verified author of, newest first."""
    ids = AuthorClaim.objects.filter(user=user, status=AuthorClaim.Status.APPROVED).values(
        "paper_id"
    )
    return list(listing(Paper.objects.filter(pk__in=ids)).order_by("-published_at", "-id")[:limit])


def member_claims(user: User, *, limit: int = 50) -> list[AuthorClaim]:
    """The member's own claims, newest first, whatever their state."""
    return list(AuthorClaim.objects.filter(user=user).select_related("paper")[:limit])
