"""PostgreSQL full-text search: a trigger keeps Paper.search_vector current, a GIN index
serves it. Title weighs most (A), then authors and AI keywords (B), then the abstract (C).
Nothing happens on other databases (SQLite searches with a fallback)."""

from django.db import migrations

CREATE = """
CREATE FUNCTION papers_paper_search_vector() RETURNS trigger AS $$
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

CREATE TRIGGER papers_paper_search_vector_trigger
  BEFORE INSERT OR UPDATE OF title, abstract, authors, ai_keywords ON papers_paper
  FOR EACH ROW EXECUTE FUNCTION papers_paper_search_vector();

CREATE INDEX papers_paper_search_gin ON papers_paper USING gin (search_vector);

UPDATE papers_paper SET title = title;
"""

DROP = """
DROP INDEX IF EXISTS papers_paper_search_gin;
DROP TRIGGER IF EXISTS papers_paper_search_vector_trigger ON papers_paper;
DROP FUNCTION IF EXISTS papers_paper_search_vector();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("papers", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
