"""A covering index for the feeds (PostgreSQL): a period's papers in order, and how many,
are read from it alone (listed_on, hidden, the votes, published_at, id), not from every
row of the period scattered over the table; the page's papers are read afterwards by id
(papers/selectors.py page_of). Built without locking writes, for millions of papers."""

from django.db import migrations

from papers.migrations._concurrently import concurrent_index


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("papers", "0009_categories_index")]

    operations = [
        concurrent_index(
            "paper_listed_cover",
            "ON papers_paper (listed_on) "
            "INCLUDE (hidden, upvote_count, source_upvotes, published_at, id)",
        )
    ]
