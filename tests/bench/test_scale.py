"""The all-of-arXiv report: every figure measured goes in, and each budget is judged."""

from __future__ import annotations

from bench.scale import report


def results() -> dict:
    row = {
        "path": "/papers/date/2026-06-12",
        "rps": 900.0,
        "p50": 4.0,
        "ratio": 0.85,
        "gc_full": 3,
        "gc_longest_ms": 2.25,
        "gc_longest_cpu_ms": 1.0,
    }
    return {
        "when": "2026-12-03 12:00 UTC",
        "machine": {
            "cores": "2",
            "cpu": "a CPU",
            "memory": "24 GiB",
            "postgresql": "15.19",
            "redis": "7.0.15",
        },
        "sizes": {
            "papers": 2_700_000,
            "upvotes": 10_000_000,
            "database": 9 * 2**30,
            "graph": 1_700 * 2**20,
            "tables": [
                {"name": "papers_paper", "rows": 2_700_000, "table": 5 * 2**30, "indexes": 2**30}
            ],
            "paper_indexes": [{"name": "paper_categories_gin", "bytes": 50 * 2**20}],
        },
        "http": {
            "phases": [
                {
                    "phase": "anonymous",
                    "title": "anonymous, quiet",
                    "endpoints": [
                        {**row, "endpoint": "busiest day", "p99": 12.0},
                        {**row, "endpoint": "search common", "p50": 61.0, "p99": 90.0},
                    ],
                },
                {
                    "phase": "member",
                    "title": "member, quiet",
                    "endpoints": [{**row, "endpoint": "its month", "ratio": 0.45, "p99": 20.0}],
                },
            ]
        },
        "ingest": {
            "records": 3000,
            "first_seconds": 1.5,
            "first_rate": 2000,
            "rerun_seconds": 0.4,
            "rerun_rows_written": 0,
        },
        "memory": [{"pid": 10, "rss_kib": 400 * 1024, "pss_kib": 250 * 1024}],
        "cold": [
            {
                "kind": "search hybrid (api)",
                "example": "/api/papers/search?q=graph+kernel",
                "count": 60,
                "errors": 0,
                "p50": 41.5,
                "p90": 70.25,
                "p99": 120.0,
            }
        ],
        "plans": {"day feed": "Limit\n  ->  Index Scan using paper_listed_votes"},
    }


def test_the_report_judges_each_budget_and_keeps_every_figure():
    text = report(results(), "make bench-full")

    assert "2,700,000 papers" in text
    assert (
        "| busiest day | `/papers/date/2026-06-12` | 900 | 4.00 | 12.00 | 0.85 | 3 | 2.2 (1.0) "
        "| met |" in text
    )
    assert "| search common |" in text
    assert text.count("**not met**") == 2  # search p50 over 50 ms; the member's ratio
    assert "3,000 new records" in text
    assert "re-run 0.4 s, writing 0 rows" in text
    assert "| paper_categories_gin | 50 MiB |" in text
    assert "| 10 | 400 MiB | 250 MiB |" in text
    assert "Index Scan using paper_listed_votes" in text
    assert (
        "| search hybrid (api) | `/api/papers/search?q=graph+kernel` | 60 | 41.5 | 70.2 |" in text
    )
