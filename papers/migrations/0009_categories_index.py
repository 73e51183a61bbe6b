"""A GIN index on the categories (PostgreSQL): a category's feed, search and API lists read
`categories @> '["cs.LG"]'` through it. Built without locking writes, for a table of
millions of papers."""

from django.db import migrations


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS paper_categories_gin "
            "ON papers_paper USING gin (categories jsonb_path_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS paper_categories_gin")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("papers", "0008_oai_harvests")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
