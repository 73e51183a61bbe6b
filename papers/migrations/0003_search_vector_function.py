"""The search vector as one SQL function, papers_search_vector(title, abstract, authors,
ai_keywords), that the trigger of migration 0002 now calls and that a big ingestion calls
too, on a second connection, to spread the work over two cores
(papers/services/postgresql_loader.py). The expression is unchanged, so every vector stays the same.

The trigger keeps a vector that an INSERT brings only when the inserting transaction says
so (SET LOCAL papers.search_vector_given = on, which only that ingestion does); every other
insert and every update of title, abstract, authors or AI keywords computes it as before.
Nothing happens on other databases (SQLite searches with a fallback)."""

from django.db import migrations

CREATE = """
CREATE FUNCTION papers_search_vector(text, text, jsonb, jsonb) RETURNS tsvector AS $$
  SELECT
    setweight(to_tsvector('english', coalesce($1, '')), 'A') ||
    setweight(to_tsvector('simple', coalesce(
      (SELECT string_agg(a->>'name', ' ') FROM jsonb_array_elements($3) a), '')), 'B') ||
    setweight(to_tsvector('english', coalesce(
      (SELECT string_agg(k, ' ') FROM jsonb_array_elements_text($4) k), '')), 'B') ||
    setweight(to_tsvector('english', coalesce($2, '')), 'C')
$$ LANGUAGE sql IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION papers_search_vector(text, text, jsonb, jsonb) IS
  'Full-text search vector of a paper from (title, abstract, authors, ai_keywords).';

CREATE OR REPLACE FUNCTION papers_paper_search_vector() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'INSERT' AND NEW.search_vector IS NOT NULL
     AND current_setting('papers.search_vector_given', true) = 'on' THEN
    RETURN NEW;  -- computed by papers_search_vector() for this very row by the ingestion
  END IF;
  NEW.search_vector := papers_search_vector(NEW.title, NEW.abstract, NEW.authors, NEW.ai_keywords);
  RETURN NEW;
END
$$ LANGUAGE plpgsql;
"""

# Migration 0002's trigger function, as it was.
RESTORE = """
CREATE OR REPLACE FUNCTION papers_paper_search_vector() RETURNS trigger AS $$
BEGIN
  NEW.search_vector :=
    setweight(to_tsvector('english', coalesce(NEW.title, '')), 'A') ||
    setweight(to_tsvector('simple', coalesce(
      (SELECT string_agg(a->>'name', ' ') FROM jsonb_array_elements(NEW.authors) a), '')), 'B') ||
    setweight(to_tsvector('english', coalesce(
      (SELECT string_agg(k, ' ') FROM jsonb_array_elements_text(NEW.ai_keywords) k), '')), 'B') ||
    setweight(to_tsvector('english', coalesce(NEW.abstract, '')), 'C');
  RETURN NEW;
END
$$ LANGUAGE plpgsql;

DROP FUNCTION IF EXISTS papers_search_vector(text, text, jsonb, jsonb);
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(RESTORE)


class Migration(migrations.Migration):
    dependencies = [("papers", "0002_search_vector")]

    operations = [migrations.RunPython(forwards, backwards)]
