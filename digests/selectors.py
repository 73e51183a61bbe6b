"""Reads for digests: a member's subscription, confirmation links, a period's papers."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import signing
from django.db.models import Case, IntegerField, Q, Value, When
from django.urls import reverse

from accounts.models import User
from digests.models import Subscription
from digests.periods import DigestPeriod
from papers.authors import author_key
from papers.follows import Followed
from papers.models import AuthorClaim, Paper
from papers.terms import terms_pattern

CONFIRM_SALT = "digests.confirm"
SUMMARY_CHARS = 320
AUTHORS_SHOWN = 6
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'])")


class ConfirmationLinkInvalid(Exception):
    """The link was altered, or replaced by a newer one."""


class ConfirmationLinkExpired(Exception):
    """The link is genuine but older than DIGEST_CONFIRM_MAX_AGE_HOURS."""


def subscription_for_user(user: User) -> Subscription | None:
    """The member's subscription: the one linked to the account, else the one for its email."""
    match = Q(user=user)
    # Only an address the member proved is theirs: with email verification optional or off,
    # anybody can sign up with somebody else's address.
    verified = EmailAddress.objects.filter(user=user, verified=True).values_list("email", flat=True)
    emails = [email.strip().lower() for email in verified]
    if emails:
        match |= Q(email__in=emails)
    return (
        Subscription.objects.filter(match)
        .annotate(
            linked=Case(
                When(user=user, then=Value(0)), default=Value(1), output_field=IntegerField()
            )
        )
        .order_by("linked", "-created_at")
        .first()
    )


def subscription_by_token(token: str) -> Subscription | None:
    """The subscription whose manage link carries `token`."""
    return Subscription.objects.filter(token=token).first()


def subscription_to_unsubscribe(token: str) -> Subscription | None:
    """The subscription whose one-click unsubscribe link carries `token` (links in mails
    sent before the two were split carry the manage token: those work too)."""
    return Subscription.objects.filter(Q(unsubscribe_token=token) | Q(token=token)).first()


def confirmation_token(subscription: Subscription) -> str:
    """A signed, timestamped token for the confirmation link of the current confirmation."""
    return signing.dumps([subscription.pk, subscription.confirm_nonce], salt=CONFIRM_SALT)


def subscription_for_confirmation(token: str) -> Subscription:
    """The subscription a confirmation link is for; raises ConfirmationLinkInvalid/Expired."""
    max_age = settings.DIGEST_CONFIRM_MAX_AGE_HOURS * 3600
    try:
        pk, nonce = signing.loads(token, salt=CONFIRM_SALT, max_age=max_age)
    except signing.SignatureExpired:
        raise ConfirmationLinkExpired from None
    except (signing.BadSignature, TypeError, ValueError):
        raise ConfirmationLinkInvalid from None
    subscription = Subscription.objects.filter(pk=pk, confirm_nonce=nonce).first()
    if subscription is None:
        raise ConfirmationLinkInvalid
    return subscription


@dataclass(frozen=True, slots=True)
class DigestPaper:
    """What a digest shows of a paper, and the lower-cased text keywords are matched in."""

    arxiv_id: str
    title: str
    authors: tuple[str, ...]
    more_authors: int
    summary: str
    votes: int
    url: str
    text: str
    author_keys: frozenset[str] = frozenset()  # papers/authors.py's keys of its authors
    pk: int = 0
    members: frozenset[int] = frozenset()  # who submitted it, and its verified authors
    categories: frozenset[str] = frozenset()  # its arXiv categories, primary and cross-lists


def first_sentences(text: str, limit: int = SUMMARY_CHARS) -> str:
    """The first sentences of `text` that fit in `limit` characters (at least one, cut)."""
    sentences = _SENTENCE_END_RE.split(" ".join(text.split()))
    kept = ""
    for sentence in sentences:
        candidate = f"{kept} {sentence}".strip()
        if len(candidate) > limit:
            break
        kept = candidate
    if not kept and sentences and sentences[0]:
        kept = sentences[0][: limit - 1].rstrip() + "\N{HORIZONTAL ELLIPSIS}"
    return kept


def digest_papers(period: DigestPeriod) -> list[DigestPaper]:
    """The period's visible papers, most votes (local + Hugging Face) first, with who
    submitted each and its verified authors (what follows match): two queries."""
    papers_of_period = Paper.objects.visible().listed_between(period.first, period.last)
    rows = papers_of_period.by_votes().values_list(
        "id",
        "arxiv_id",
        "title",
        "authors",
        "abstract",
        "ai_summary",
        "ai_keywords",
        "upvote_count",
        "source_upvotes",
        "submitted_by_id",
        "categories",
    )
    verified: dict[int, set[int]] = {}
    for paper_id, user_id in AuthorClaim.objects.filter(
        status=AuthorClaim.Status.APPROVED,
        paper__listed_on__gte=period.first,
        paper__listed_on__lte=period.last,
    ).values_list("paper_id", "user_id"):
        verified.setdefault(paper_id, set()).add(user_id)
    papers = []
    for row in rows:
        pk, arxiv_id, title, authors, abstract, ai_summary, ai_keywords, local, source, by, cats = (
            row
        )
        names = [a.get("name", "") for a in authors or [] if isinstance(a, dict)]
        keywords = " ".join(k for k in ai_keywords or [] if isinstance(k, str))
        members = verified.get(pk, set()) | ({by} if by is not None else set())
        papers.append(
            DigestPaper(
                arxiv_id=arxiv_id,
                title=" ".join(title.split()),
                authors=tuple(names[:AUTHORS_SHOWN]),
                more_authors=max(0, len(names) - AUTHORS_SHOWN),
                summary=" ".join(ai_summary.split()) or first_sentences(abstract),
                votes=local + source,
                url=settings.SITE_URL + reverse("papers:paper", args=[arxiv_id]),
                text=f"{title}\n{abstract}\n{keywords}".lower(),
                author_keys=frozenset(author_key(name) for name in names),
                pk=pk,
                members=frozenset(members),
                categories=frozenset(c for c in cats or [] if isinstance(c, str)),
            )
        )
    return papers


def select_papers(
    papers: Sequence[DigestPaper],
    keywords: Sequence[str],
    limit: int,
    followed: Followed | None = None,
    categories: Sequence[str] = (),
) -> list[DigestPaper]:
    """The first `limit` papers (already ranked) whose title, abstract or keywords match
    one of the subscriber's topics (papers/terms.py), among those in one of their arXiv
    categories if they chose any; the papers of what their member account follows come
    first."""
    if categories:
        wanted = frozenset(categories)
        papers = [paper for paper in papers if paper.categories & wanted]
    if followed:
        matches = followed.matcher()
        first = [
            paper
            for paper in papers
            if matches(text=paper.text, author_keys=paper.author_keys, members=paper.members)
        ][:limit]
        taken = {paper.arxiv_id for paper in first}
        rest = select_papers(papers, keywords, limit + len(first))
        return (first + [paper for paper in rest if paper.arxiv_id not in taken])[:limit]
    pattern = terms_pattern(keywords)
    if pattern is None:
        return list(papers[:limit])
    chosen: list[DigestPaper] = []
    for paper in papers:
        if pattern.search(paper.text):
            chosen.append(paper)
            if len(chosen) == limit:
                break
    return chosen
