"""An index built without locking writes (PostgreSQL's CREATE INDEX CONCURRENTLY), for a
table of millions of papers; other databases go without it. A migration using it must say
`atomic = False`. (Named with a leading underscore: Django's loader skips this module.)"""

from django.db import migrations


def concurrent_index(name: str, definition: str) -> migrations.RunPython:
    """`CREATE INDEX CONCURRENTLY IF NOT EXISTS <name> <definition>`, and its reverse."""

    def create(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} {definition}")

    def drop(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")

    return migrations.RunPython(create, drop, elidable=False)
