"""All of arXiv on one machine: the budget's pages and API at 2.7 million papers.

    make bench-full            # = python -m bench.scale; hours the first time, then minutes

Each step is skipped when an earlier run did it, so a stopped run goes on where it was:

1. the database (BENCH_FULL_DATABASE_URL, default `dailypapers_full`): migrated, then filled
   by bench.generate_data with 2,700,000 papers over 16 years in arXiv's categories,
   100,000 members, 10,000,000 upvotes and 10,000 digest subscribers;
2. vectors: the first VECTORS_EMBEDDED papers by the model, the others noisy copies of
   them (as bench.ann grows them), so that search by meaning has a vector for every paper;
   then VACUUM ANALYZE, and the HNSW graph (VECTOR_INDEX=hnsw, manage.py
   build_vector_index) under var/bench-full;
3. sizes: the database, each big table and each of its indexes, the graph file;
4. the query plans of the hot queries, with EXPLAIN (ANALYZE, BUFFERS);
5. memory: each gunicorn worker's resident and proportional set after serving every page;
6. HTTP: bench.http --all (the busiest day, its week and month, trending, a paper, search
   in full text through the API list and hybrid on the page, the category pages and the
   API lists) for a visitor and a signed-in member, against the trivial baseline;
7. answers no cache has seen: 60 distinct days, category days, API lists and searches (full
   text and hybrid) each asked once;
8. the daily increment: 3,000 records ingested into the 2.7 million (bench.ingest_file).

Writes docs/SCALE.md (with the command) and docs/scale.json; `--steps cold,plans` measures
again only those and keeps the other figures.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.run import P99_TARGET_MS, ensure_database, machine, paper_count

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/dailypapers_full"
VAR_DIR = ROOT / "var" / "bench-full"
PAPERS, USERS, UPVOTES, SUBSCRIBERS, YEARS = 2_700_000, 100_000, 10_000_000, 10_000, 16
VECTORS_EMBEDDED = 20_000
INCREMENT = 3_000  # about one day of new arXiv papers
SEARCH_P50_TARGET_MS = 50.0
RATIO_TARGET, MEMBER_RATIO_TARGET = 0.8, 0.5
PORT = 8911


def say(text: str) -> None:
    print(text, flush=True)


def run(command: list[str], env: dict[str, str]) -> None:
    say("$ " + " ".join(command))
    subprocess.run(command, cwd=ROOT, env=env, check=True)


def sql(query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        cursor = conn.execute(query, params or [])
        return cursor.fetchall() if cursor.description else []


# --- 1 and 2: the data ----------------------------------------------------------------------


def fill(env: dict[str, str]) -> None:
    run([sys.executable, "manage.py", "migrate", "-v0"], env)
    if paper_count(env) < PAPERS // 2:
        run(
            [
                sys.executable,
                "-m",
                "bench.generate_data",
                f"--papers={PAPERS}",
                f"--users={USERS}",
                f"--upvotes={UPVOTES}",
                f"--subscribers={SUBSCRIBERS}",
                f"--years={YEARS}",
            ],
            env,
        )
    missing = sql(
        "SELECT count(*) FROM papers_paper p WHERE NOT EXISTS "
        "(SELECT 1 FROM papers_paperembedding e WHERE e.paper_id = p.id)"
    )[0][0]
    if missing:
        say(f"vectors: {missing:,} papers have none")
        run([sys.executable, "-m", "bench.scale", "--vectors-only"], env)
        say("VACUUM ANALYZE ...")
        sql("VACUUM ANALYZE")
    graph = VAR_DIR / "vectors"
    if not graph.exists() or not any(graph.glob("*.usearch")):
        run([sys.executable, "manage.py", "build_vector_index"], env)


def write_vectors() -> None:
    """Vectors for every paper without one: the model's for the first VECTORS_EMBEDDED,
    noisy copies of those for the rest, each with the digest of its own text (so none is
    taken for stale)."""
    import numpy as np

    from bench.ann import grow
    from bench.http import setup_django

    setup_django()
    from django.db import connection
    from django.utils import timezone

    from papers import embeddings
    from papers.models import Paper, PaperEmbedding

    first = list(Paper.objects.order_by("pk").values_list("pk", flat=True)[:VECTORS_EMBEDDED])
    todo = [pk for pk in first if not PaperEmbedding.objects.filter(paper_id=pk).exists()]
    if todo:
        say(f"embedding {len(todo):,} papers with the model ...")
        embeddings.embed_papers(todo)
    rows = PaperEmbedding.objects.filter(paper_id__in=first).values_list("vector", flat=True)
    base = np.stack([np.frombuffer(v, dtype=np.float16).astype(np.float32) for v in rows])
    rng = np.random.default_rng(7)
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.id, p.title, p.abstract FROM papers_paper p WHERE NOT EXISTS "
            "(SELECT 1 FROM papers_paperembedding e WHERE e.paper_id = p.id) ORDER BY p.id"
        )
        missing = cursor.fetchall()
    say(f"writing {len(missing):,} vectors near the embedded ones ...")
    written = 0
    batch = 100_000
    for start in range(0, len(missing), batch):
        chunk = missing[start : start + batch]
        picks = base[rng.integers(0, len(base), len(chunk))]
        moved = grow(picks, 2 * len(chunk), rng)[len(chunk) :]
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(
                "COPY papers_paperembedding (paper_id, model, digest, vector, updated_at) "
                "FROM STDIN"
            ) as copy,
        ):
            for (pk, title, abstract), vector in zip(chunk, moved, strict=True):
                digest = embeddings.text_digest(embeddings.paper_text(title, abstract))
                copy.write_row(
                    (pk, embeddings.MODEL_NAME, digest, embeddings.to_bytes(vector), now)
                )
        written += len(chunk)
        say(f"vectors: {written:,} of {len(missing):,}")
    # Dated as their papers were published: written together, they would all be newer than
    # the graph's margin and every process would read them into its exact matrix; spread
    # over 16 years, the graph covers them, as it does a catalogue embedded over years.
    # (The papers' own updated_at is no help: generate_data writes them all in minutes.)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE papers_paperembedding e SET updated_at = p.published_at "
            "FROM papers_paper p WHERE p.id = e.paper_id"
        )


# --- 3 and 4: sizes and plans ---------------------------------------------------------------


def sizes() -> dict[str, Any]:
    tables = sql(
        "SELECT c.relname, pg_table_size(c.oid), pg_indexes_size(c.oid), c.reltuples::bigint "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind = 'r' AND n.nspname = 'public' ORDER BY pg_total_relation_size(c.oid) "
        "DESC LIMIT 6"
    )
    indexes = sql(
        "SELECT indexrelname, pg_relation_size(indexrelid) FROM pg_stat_user_indexes "
        "WHERE relname = 'papers_paper' ORDER BY pg_relation_size(indexrelid) DESC"
    )
    graph = sorted((VAR_DIR / "vectors").glob("*.usearch"))
    return {
        "database": sql("SELECT pg_database_size(current_database())")[0][0],
        "tables": [
            {"name": name, "table": table, "indexes": index, "rows": rows}
            for name, table, index, rows in tables
        ],
        "paper_indexes": [{"name": name, "bytes": size} for name, size in indexes],
        "graph": graph[-1].stat().st_size if graph else 0,
        "papers": sql("SELECT count(*) FROM papers_paper")[0][0],
        "upvotes": sql("SELECT count(*) FROM papers_upvote")[0][0],
    }


def plans() -> dict[str, str]:
    """EXPLAIN (ANALYZE, BUFFERS) of the hot queries, as the site's selectors build them."""
    from bench.http import busiest_day, setup_django

    setup_django()
    from django.db import connection
    from django.utils import timezone

    from papers import selectors
    from papers.periods import period_of

    day = busiest_day()
    queries = {
        "day feed (most upvoted, first page)": selectors.feed_rows(period_of("date", day)),
        "month feed (most upvoted, first page)": selectors.feed_rows(period_of("month", day)),
        "category day (cs.LG)": selectors.feed_rows(period_of("date", day), category="cs.LG"),
        "category's latest day (cs.LG)": selectors.in_category(
            selectors.Paper.objects.visible(), "cs.LG"
        )
        .order_by("-listed_on")
        .values_list("listed_on", flat=True)[:1],
        "trending": selectors.page_of(selectors.trending_papers(now=timezone.now()), 0, 50),
        "full-text search, newest 1,000 matches": selectors.search_papers("learning")
        .order_by("-id")
        .values_list("pk", "rank")[:1001],
        "API list by category (first page)": selectors.papers_filtered(category="cs.LG").order_by(
            "-listed_on", "-id"
        )[:51],
    }
    found = {}
    with connection.cursor() as cursor:
        for name, queryset in queries.items():
            query, params = queryset.query.sql_with_params()
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {query}", params)
            found[name] = "\n".join(row[0] for row in cursor.fetchall())
    return found


# --- 5: memory ----------------------------------------------------------------------------


def memory(env: dict[str, str], endpoints: dict[str, str]) -> list[dict[str, int]]:
    """Each worker's resident and proportional set size (KiB) after serving every page."""
    import httpx

    from bench.http import HEADERS, start_gunicorn

    server = start_gunicorn(env, workers=2, port=PORT)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{PORT}", headers=HEADERS) as client:
            for _ in range(3):
                for path in endpoints.values():
                    client.get(path, timeout=60)
        children = subprocess.run(
            ["pgrep", "-P", str(server.pid)], capture_output=True, text=True, check=True
        ).stdout.split()
        found = []
        for pid in children:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
            values = {line.split(":")[0]: int(line.split()[1]) for line in rollup[1:]}
            found.append({"pid": int(pid), "rss_kib": values["Rss"], "pss_kib": values["Pss"]})
        return found
    finally:
        server.terminate()
        server.wait(30)


# --- 7: answers no cache has seen -----------------------------------------------------------

COLD_WORDS = " ".join(
    (
        "learning model language diffusion transformer agent reasoning benchmark vision",
        "multimodal sparse attention retrieval alignment policy scaling graph quantization",
        "distillation robotics planning federated privacy causal calibration kernel spectral",
    )
).split()


def cold_paths(rng: Any, count: int) -> dict[str, list[str]]:
    """`count` distinct addresses of each kind, none asked before: days, category days,
    API lists, and searches of two or three words, in full text and hybrid."""
    from bench.http import setup_django

    setup_django()
    from papers.models import Paper

    days = list(
        Paper.objects.order_by().values_list("listed_on", flat=True).distinct()[: count * 20]
    )
    chosen = rng.sample(days, count)
    codes = ["cs.LG", "cs.CV", "cs.CL", "quant-ph", "hep-th", "math.PR", "econ.EM", "nucl-ex"]

    def words() -> str:
        return "+".join(rng.sample(COLD_WORDS, rng.choice((2, 3))))

    return {
        "day feed": [f"/papers/date/{day}" for day in chosen],
        "category day": [
            f"/papers/category/{rng.choice(codes)}/date/{day}" for day in reversed(chosen)
        ],
        "api daily_papers": [f"/api/daily_papers?date={day}&limit=50" for day in chosen],
        "api papers category": [
            f"/api/papers?category={rng.choice(codes)}&until={day}" for day in chosen
        ],
        "search full text (api list)": [f"/api/papers?q={words()}" for _ in range(count)],
        "search hybrid (page)": [f"/papers/search?q={words()}" for _ in range(count)],
        "search hybrid (api)": [f"/api/papers/search?q={words()}" for _ in range(count)],
    }


def cold(env: dict[str, str], count: int = 60) -> list[dict[str, Any]]:
    """Each kind's addresses asked once, one at a time, after every worker has warmed up:
    the time to build an answer from the database at this size (p50, p90, p99)."""
    import random
    import statistics

    import httpx

    from bench.http import HEADERS, start_gunicorn

    paths = cold_paths(random.Random(11), count)
    server = start_gunicorn(env, workers=2, port=PORT)
    found = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{PORT}", headers=HEADERS) as client:
            for _ in range(6):  # every worker loads the model and maps the graph
                client.get("/api/papers/search?q=warm+up+the+workers", timeout=120)
            for kind, urls in paths.items():
                times, errors = [], 0
                for url in urls:
                    started = time.perf_counter()
                    response = client.get(url, timeout=120)
                    times.append((time.perf_counter() - started) * 1000)
                    errors += response.status_code >= 400
                times.sort()
                row = {
                    "kind": kind,
                    "example": urls[0],
                    "count": len(times),
                    "errors": errors,
                    "p50": statistics.median(times),
                    "p90": times[int(len(times) * 0.9) - 1],
                    "p99": times[-1] if len(times) < 100 else times[int(len(times) * 0.99) - 1],
                }
                found.append(row)
                say(
                    f"cold {kind:<28} p50 {row['p50']:7.1f} ms  p90 {row['p90']:7.1f} ms  "
                    f"max {times[-1]:7.1f} ms  errors {errors}"
                )
    finally:
        server.terminate()
        server.wait(30)
    return found


# --- the report ---------------------------------------------------------------------------


def _mib(value: float) -> str:
    return f"{value / 2**20:,.0f} MiB"


def gc_cells(row: dict[str, Any]) -> str:
    """The workers' full collections in the endpoint's runs, and the longest collection:
    its pause (its CPU time)."""
    if "gc_full" not in row:
        return "- | -"
    return f"{row['gc_full']} | {row['gc_longest_ms']:.1f} ({row['gc_longest_cpu_ms']:.1f})"


def report(results: dict[str, Any], command: str) -> str:
    box = results["machine"]
    lines = [
        "# All of arXiv on one machine",
        "",
        f"Measured {results['when']} with `{command}` (bench/scale.py) on {box['cores']} "
        f"cores ({box['cpu']}), {box['memory']}, PostgreSQL {box['postgresql']}, Redis "
        f"{box['redis']}.",
        "",
        f"{results['sizes']['papers']:,} papers (16 years, arXiv's categories), "
        f"{results['sizes']['upvotes']:,} upvotes, {USERS:,} members, {SUBSCRIBERS:,} digest "
        "subscribers; search by meaning through the HNSW graph (VECTOR_INDEX=hnsw).",
        "",
        "## Pages and API",
        "",
        "Requests per second against the trivial baseline in the same run (bench/http.py); "
        f"budgets: ratio ≥ {RATIO_TARGET} for visitors and {MEMBER_RATIO_TARGET} for members, "
        f"p99 ≤ {P99_TARGET_MS:g} ms; search p50 < {SEARCH_P50_TARGET_MS:g} ms. Full GCs: "
        "the web workers' full garbage collections during the endpoint's runs; longest GC: "
        "the longest collection of any generation there, its pause and (in brackets) the CPU "
        "time it used (bench/gunicorn_gc.py).",
        "",
    ]
    for phase in results["http"]["phases"]:
        target = MEMBER_RATIO_TARGET if phase["phase"].startswith("member") else RATIO_TARGET
        lines += [
            f"### {phase['title']}",
            "",
            "| endpoint | path | req/s | p50 ms | p99 ms | ratio | full GCs | longest GC ms "
            "| budget |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for row in phase["endpoints"]:
            met = round(row["ratio"], 2) >= target and row["p99"] <= P99_TARGET_MS
            if "search" in row["endpoint"]:
                met = met and row["p50"] < SEARCH_P50_TARGET_MS
            lines.append(
                f"| {row['endpoint']} | `{row['path']}` | {row['rps']:,.0f} | {row['p50']:.2f} | "
                f"{row['p99']:.2f} | {row['ratio']:.2f} | {gc_cells(row)} | "
                f"{'met' if met else '**not met**'} |"
            )
        lines.append("")
    if results.get("cold"):
        lines += [
            "## Answers no cache has seen",
            "",
            "Each address asked once, one at a time (two gunicorn workers, warmed up): the "
            "time to build the answer from the database, what the first reader of a day, a "
            f"category or a query waits. Budget for search: p50 < {SEARCH_P50_TARGET_MS:g} ms.",
            "",
            "| kind | example | asked | p50 ms | p90 ms | slowest ms | errors |",
            "|---|---|---|---|---|---|---|",
        ]
        for row in results["cold"]:
            lines.append(
                f"| {row['kind']} | `{row['example']}` | {row['count']} | {row['p50']:.1f} | "
                f"{row['p90']:.1f} | {row['p99']:.1f} | {row['errors']} |"
            )
        lines.append("")
    ingest = results["ingest"]
    lines += [
        "## The daily increment",
        "",
        f"{ingest['records']:,} new records into {results['sizes']['papers']:,} papers: first run "
        f"{ingest['first_seconds']:.1f} s ({ingest['first_rate']:,} papers/s), re-run "
        f"{ingest['rerun_seconds']:.1f} s, writing {ingest['rerun_rows_written']} rows.",
        "",
        "## Sizes",
        "",
        f"Database {_mib(results['sizes']['database'])}; HNSW graph file "
        f"{_mib(results['sizes']['graph'])} (mapped, shared by every process).",
        "",
        "| table | rows | table | indexes |",
        "|---|---|---|---|",
    ]
    for table in results["sizes"]["tables"]:
        lines.append(
            f"| {table['name']} | {table['rows']:,} | {_mib(table['table'])} | "
            f"{_mib(table['indexes'])} |"
        )
    lines += ["", "| index of papers_paper | size |", "|---|---|"]
    lines += [f"| {i['name']} | {_mib(i['bytes'])} |" for i in results["sizes"]["paper_indexes"]]
    lines += ["", "## Memory", "", "| worker | resident | proportional |", "|---|---|---|"]
    for worker in results["memory"]:
        lines.append(
            f"| {worker['pid']} | {worker['rss_kib'] / 1024:,.0f} MiB | "
            f"{worker['pss_kib'] / 1024:,.0f} MiB |"
        )
    notes = ROOT / "bench" / "scale_notes.md"
    if notes.exists():
        lines += ["", notes.read_text().strip()]
    lines += ["", "## Query plans", ""]
    for name, plan in results["plans"].items():
        lines += [f"### {name}", "", "```", plan, "```", ""]
    return "\n".join(lines)


STEPS = ("sizes", "plans", "memory", "http", "cold", "ingest")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vectors-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument(
        "--steps",
        default=",".join(STEPS),
        help="comma-separated, from: " + ", ".join(STEPS) + " (all); the others' figures "
        "are kept from the last report",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    steps = [step for step in args.steps.split(",") if step]
    if unknown := set(steps) - set(STEPS):
        parser.error(f"unknown steps: {', '.join(sorted(unknown))}")
    os.environ.setdefault(
        "DATABASE_URL", os.environ.get("BENCH_FULL_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    os.environ.setdefault(
        "REDIS_URL", os.environ.get("BENCH_FULL_REDIS_URL", "redis://127.0.0.1:6379/6")
    )
    os.environ.update(VECTOR_INDEX="hnsw", VAR_DIR=str(VAR_DIR), OPENBLAS_NUM_THREADS="1")
    if args.vectors_only:
        write_vectors()
        return
    env = dict(os.environ)
    ensure_database(env["DATABASE_URL"], fresh=False)
    started = time.perf_counter()
    fill(env)
    from bench.http import database_targets, server_env

    kept = args.out / "scale.json"
    results: dict[str, Any] = json.loads(kept.read_text()) if kept.exists() else {}
    results["when"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    results["machine"] = machine()
    if "sizes" in steps:
        results["sizes"] = sizes()
    if "plans" in steps:
        results["plans"] = plans()
    served = server_env(PORT)
    run([sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"], served)
    if "memory" in steps:
        results["memory"] = memory(served, database_targets())
    if "http" in steps:
        http_json = VAR_DIR / "http.json"
        run(
            [
                sys.executable,
                "-m",
                "bench.http",
                "--all",
                "--phases=anonymous,member",
                f"--duration={args.duration}",
                "--no-size-reference",
                f"--json={http_json}",
            ],
            env,
        )
        results["http"] = json.loads(http_json.read_text())
    if "cold" in steps:
        results["cold"] = cold(served)
    if "ingest" in steps:
        ingest_json = VAR_DIR / "ingest.json"
        run(
            [
                sys.executable,
                "-m",
                "bench.ingest_file",
                f"--records={INCREMENT}",
                f"--json={ingest_json}",
            ],
            env,
        )
        results["ingest"] = json.loads(ingest_json.read_text())
    results["seconds"] = time.perf_counter() - started
    database = urlsplit(env["DATABASE_URL"]).path.lstrip("/")
    command = f"make bench-full  # database {database}"
    args.out.mkdir(parents=True, exist_ok=True)
    kept.write_text(json.dumps(results, indent=2, default=str) + "\n")
    (args.out / "SCALE.md").write_text(report(results, command) + "\n")
    say(f"wrote {args.out / 'SCALE.md'} in {results['seconds']:,.0f} s")


if __name__ == "__main__":
    main()
