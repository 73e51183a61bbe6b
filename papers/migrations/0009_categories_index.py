"""A GIN index on the categories (PostgreSQL): a category's feed, search and API lists read
`categories @> '["cs.LG"]'` through it. Built without locking writes, for a table of
millions of papers."""

from django.db import migrations

from papers.migrations._concurrently import concurrent_index


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("papers", "0008_oai_harvests")]

    operations = [
        concurrent_index(
            "paper_categories_gin", "ON papers_paper USING gin (categories jsonb_path_ops)"
        )
    ]
