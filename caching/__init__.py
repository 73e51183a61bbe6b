"""Caching: every layer that keeps something between requests, and the one way to say
what changed.

Writers say what they changed through one function (`papers.caching.changed` for papers,
votes and the set of papers; `announce` below for everything else); nothing else
invalidates anything. Selectors are plain queries.

The layers, from the request inwards (docs/BENCHMARKS.md has the figure of each):

1. **Rate limits off the hot path** (`config/ratelimit.py`): each process leases a part
   of a client's budget from Redis, so a busy client costs a round trip per lease, not
   per call.
2. **Whole answers for visitors and API clients** (`store`, `responses`): built once,
   kept with their gzip form in this process (`store.near`) and in the shared cache. A
   hit in this process costs no round trip, no query and no compression.
3. **Members' skeletons** (`skeletons`, `papers/caching.py`): a member's page is the page
   rendered once for any member with holes for their CSRF token, name, email and vote
   marks, filled for each request in one join.
4. **Members' own state** (`sessions`, `users`, `papers/caching.py`): their session, their
   user row, their API tokens and which papers they upvoted are kept in each process and
   checked against their scope's generation, so a member's page costs no query at all;
   the vote counts on it are those of the skeleton, or newer ones announced with votes
   (a member sees their own vote at once).
5. **Cards** (`skeletons.fragments`, `papers/caching.py`): each paper's card is rendered
   once per paper version and reused by every list that shows it (days, weeks, months,
   trending, search, related papers), for visitors and members.
6. **Scope generations** (`generations`): what an entry shows is named by scopes
   (`paper:<arxiv id>`, `day:<date>`, `week:<week>`, `month:<month>`, `recent`, `catalog`
   for the set of papers, `votes:<member id>` for a member's own votes, `member:<id>`,
   `token:<digest>`, `session:<key>`, `all`), each with generations replaced by every
   change. An entry is
   fresh while the generations it was built against are current; each process keeps a
   copy of them, kept current through Redis pub/sub, so checking an entry costs no round
   trip. A vote changes one paper and its day: only the entries showing them are touched.
7. **No stampede, bounded staleness** (`store.fetch`): when an entry is out of date, one
   request rebuilds it while the others are served the previous copy; a changing entry
   is rebuilt at most once per `store.REFRESH_SECONDS` (one second). Visitors and API
   clients see a new count within that second plus one rebuild (`store.LOCK_SECONDS` at
   worst), the API says how old its answer is (`Age`), a member sees their own vote at
   once, and hard changes (a hidden paper, a session that ended) are never served late.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from django.db import transaction

from caching.generations import generations

logger = logging.getLogger(__name__)


def announce(
    *,
    soft: Iterable[str] = (),
    hard: Iterable[str] = (),
    facts: Mapping[str, str] | None = None,
) -> None:
    """Say which scopes changed, once the current transaction commits (at once outside
    one). `hard`: what changed must never be shown late."""
    soft, hard = set(soft), set(hard)
    if not soft and not hard:
        return

    def send() -> None:
        try:
            generations.bump(soft=soft, hard=hard, facts=facts)
        except Exception:  # the cache is down: pages are built from the database meanwhile
            logger.warning("caching: could not announce a change to %s", sorted(soft | hard))
            generations.owe_everything()

    transaction.on_commit(send)
