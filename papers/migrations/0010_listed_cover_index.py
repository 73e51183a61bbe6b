"""A covering index for the feeds (PostgreSQL): a period's papers in order, and how many,
are read from it alone (listed_on, hidden, the votes, published_at, id), not from every
row of the period scattered over the table; the page's papers are read afterwards by id
(papers/selectors.py feed_keys). Built without locking writes, for millions of papers."""

from django.db import migrations


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS paper_listed_cover ON papers_paper "
            "(listed_on) INCLUDE (hidden, upvote_count, source_upvotes, published_at, id)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS paper_listed_cover")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("papers", "0009_categories_index")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
