"""Writes to papers, one subject per module.

- ingestion: fetch from a source, validate, merge and upsert, with its IngestRun; one
  service per source (papers_ingest_hf, papers_ingest_arxiv, ...).
- validation: what a record may hold (lengths, dates, URLs) and why one is rejected.
- merging: which values win when a paper arrives again (a newer arXiv version does).
- postgresql_loader: the PostgreSQL bulk path of an upsert (raw reads, binary COPY, a
  helper connection for search vectors).
- votes: upvotes, with the counter moving with the rows.
- submissions: members adding a paper by arXiv id, with their limits.
"""
