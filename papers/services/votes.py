"""Upvotes: a member's vote row and the paper's counter move together, exactly once.

On PostgreSQL a vote is one statement in autocommit; elsewhere (SQLite) the row and the
counter change in one transaction. Either way the unique (user, paper) index, not a
Python check, decides duplicates, and the caches learn of the change once it commits.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from config import metrics
from config.db import fetch_row
from papers import caching
from papers.caching import PaperRef
from papers.models import Paper, Upvote


@dataclass(frozen=True, slots=True)
class VoteState:
    upvoted: bool
    upvotes: int  # local + source votes, as shown


# PostgreSQL: a vote is one statement in autocommit. It finds the paper, inserts or deletes
# the vote row and moves the counter only when a row changed, so the counter and the rows
# commit together without a transaction block, a savepoint or a separate read. The unique
# (user, paper) index decides duplicates: a second upvote inserts nothing and counts
# nothing, also when it races the first (ON CONFLICT waits for the other insert). The
# counter's row lock is held for this one statement and its commit only.
# The answer's columns: the counter after this vote changed it (NULL when nothing
# changed), the counter as the statement found it, and the source votes.
_VOTE_SQL = """
WITH paper AS (
    SELECT id, upvote_count, source_upvotes, arxiv_id, listed_on
    FROM {paper} WHERE {key} = %(key)s{visible}
), changed AS (
    {change}
    RETURNING paper_id
), counted AS (
    UPDATE {paper} SET upvote_count = upvote_count {sign} (SELECT count(*) FROM changed)
    WHERE id = (SELECT paper_id FROM changed LIMIT 1)
    RETURNING upvote_count
)
SELECT (SELECT upvote_count FROM counted), upvote_count, source_upvotes, arxiv_id, listed_on, id
FROM paper
"""
_ADD_VOTE = """INSERT INTO {upvote} (user_id, paper_id, created_at)
    SELECT %(user)s, id, %(now)s FROM paper
    ON CONFLICT (user_id, paper_id) DO NOTHING"""
_REMOVE_VOTE = """DELETE FROM {upvote}
    WHERE user_id = %(user)s AND paper_id = (SELECT id FROM paper)"""


@functools.cache
def _vote_sql(*, add: bool, by_arxiv_id: bool) -> str:
    """The statement that adds (or removes) a vote on the paper with this id (or arXiv id:
    visible papers only, as the API shows them)."""
    return _VOTE_SQL.format(
        paper=Paper._meta.db_table,
        key="arxiv_id" if by_arxiv_id else "id",
        visible=" AND NOT hidden" if by_arxiv_id else "",
        change=(_ADD_VOTE if add else _REMOVE_VOTE).format(upvote=Upvote._meta.db_table),
        sign="+" if add else "-",
    )


def _vote_postgresql(
    *, key: int | str, by_arxiv_id: bool, user: User, add: bool
) -> tuple[int, int] | None:
    """Run the vote statement: the paper's (upvote_count, source_upvotes) after it, None
    when there is no such paper. When a vote row changed, the feed version moves once the
    vote is committed (at once in autocommit)."""
    params: dict[str, object] = {"key": key, "user": user.pk}
    if add:
        params["now"] = timezone.now()
    row = fetch_row(_vote_sql(add=add, by_arxiv_id=by_arxiv_id), params)
    if row is None:
        return None
    after, before, source, arxiv_id, listed_on, pk = row
    if after is None:
        return before, source  # nothing changed
    metrics.VOTES.labels(action="up" if add else "down").inc()
    caching.changed(
        papers=[PaperRef(arxiv_id, listed_on)], member_id=user.pk, votes={pk: after + source}
    )
    return after, source


def _vote_orm(*, paper: Paper, user: User, add: bool) -> VoteState:
    """Other databases (SQLite): the row and the counter in one transaction; the unique
    constraint, not a Python check, decides duplicates."""
    with transaction.atomic():
        if add:
            try:
                with transaction.atomic():
                    Upvote.objects.create(user=user, paper=paper)
                changed = 1
            except IntegrityError:
                changed = 0  # already upvoted: nothing changes
        else:
            changed, _ = Upvote.objects.filter(user=user, paper=paper).delete()
        if changed:
            delta = changed if add else -changed
            Paper.objects.filter(pk=paper.pk).update(upvote_count=F("upvote_count") + delta)
        counts = Paper.objects.filter(pk=paper.pk).values("upvote_count", "source_upvotes").get()
        if changed:
            metrics.VOTES.labels(action="up" if add else "down").inc()
            shown = counts["upvote_count"] + counts["source_upvotes"]
            caching.changed(papers=[paper], member_id=user.pk, votes={paper.pk: shown})
    paper.upvote_count = counts["upvote_count"]
    return VoteState(upvoted=add, upvotes=counts["upvote_count"] + counts["source_upvotes"])


def _vote(*, paper: Paper, user: User, add: bool) -> VoteState:
    if connection.vendor != "postgresql":
        return _vote_orm(paper=paper, user=user, add=add)
    found = _vote_postgresql(key=paper.pk, by_arxiv_id=False, user=user, add=add)
    if found is None:
        raise Paper.DoesNotExist(f"paper {paper.pk} is gone")
    paper.upvote_count, source = found
    return VoteState(upvoted=add, upvotes=paper.upvote_count + source)


def paper_upvote(*, paper: Paper, user: User) -> VoteState:
    """Add the member's vote (idempotent): the row and the counter move together."""
    return _vote(paper=paper, user=user, add=True)


def paper_unvote(*, paper: Paper, user: User) -> VoteState:
    """Remove the member's vote (idempotent)."""
    return _vote(paper=paper, user=user, add=False)


def paper_vote_by_arxiv_id(*, arxiv_id: str, user: User, upvote: bool) -> VoteState | None:
    """Upvote (or take back the vote on) the visible paper with this arXiv id, as the API
    does: one statement on PostgreSQL, with no separate read of the paper. None when there
    is no such visible paper."""
    if connection.vendor != "postgresql":
        rows = Paper.objects.visible().filter(arxiv_id=arxiv_id).only("id")[:1]
        paper = next(iter(rows), None)  # a unique key: no ORDER BY (see paper_by_id)
        return None if paper is None else _vote_orm(paper=paper, user=user, add=upvote)
    found = _vote_postgresql(key=arxiv_id, by_arxiv_id=True, user=user, add=upvote)
    if found is None:
        return None
    upvote_count, source = found
    return VoteState(upvoted=upvote, upvotes=upvote_count + source)


def paper_toggle_upvote(*, paper: Paper, user: User) -> VoteState:
    """Upvote, or take the vote back if there is one."""
    if Upvote.objects.filter(user=user, paper=paper).exists():
        return paper_unvote(paper=paper, user=user)
    return paper_upvote(paper=paper, user=user)
