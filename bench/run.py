"""Every benchmark of the performance budget, end to end; writes docs/BENCHMARKS.md.

Needs PostgreSQL, Redis and wrk (`apt-get install wrk`); see docs/BENCHMARKS.md for how to
start them. `make bench` runs this with the defaults:

    .venv/bin/python -m bench.run

1. creates the database (BENCH_DATABASE_URL) if it is missing, migrates it and, when it
   holds no papers yet, fills it with `python -m bench.generate_data` (100,000 papers, 20,000
   members, 1,000,000 upvotes, 10,000 subscribers);
2. ingestion: a 100,000-record Hugging Face file, first run and re-run (bench.ingest_file);
3. HTTP: every page and API endpoint of the budget against the trivial baseline, with wrk
   and gunicorn under production settings, in four phases: visitors and a member signed in
   through the login form, each quiet and while members vote at 10/s through the API
   (bench.http --all);
4. what each caching layer saves per request, in process (bench.layers);
5. the upvote storm (bench.upvote_storm);
6. discussions: 100 members commenting through the API on hot papers, and the paper page
   with 500 comments against the baseline (bench.discussions);
7. digests: 10,000 subscribers to a local SMTP server, in a database of their own
   (bench.digests);

then prints the table, writes docs/BENCHMARKS.md (the tables, the targets, and the notes of
bench/notes.md), plots the throughput ratios to docs/benchmarks.png and keeps every figure
in docs/benchmarks.json (`--report-only` writes the report again from it). `--quick` runs
everything small, to check the machinery in a few minutes; its report goes to
var/bench/ unless --out is given.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bench.http import PHASES

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/dailypapers_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/3"
NOTES = ROOT / "bench" / "notes.md"

RATIO_TARGET = 0.8  # visitors' pages and the API lists
MEMBER_RATIO_TARGET = 0.5  # a signed-in member's pages
P99_TARGET_MS = 50.0
SEARCH_P50_TARGET_MS = 30.0
SEARCH_P99_TARGET_MS = 100.0  # hybrid search of a query nobody asked before
SIMILAR_P50_TARGET_MS = 20.0
UPVOTES_TARGET = 1_000
INGEST_TARGET = 5_000
DIGEST_SECONDS_TARGET = 60.0
DIGEST_MEMORY_TARGET_MIB = 500.0


@dataclass(frozen=True)
class Sizes:
    papers: int
    users: int
    upvotes: int
    subscribers: int
    ingest_records: int
    digest_subscribers: int
    http_duration: int
    storm_clients: int
    storm_seconds: int
    comment_clients: int = 100
    comment_seconds: int = 20


FULL = Sizes(100_000, 20_000, 1_000_000, 10_000, 100_000, 10_000, 5, 200, 20)
QUICK = Sizes(2_000, 500, 20_000, 200, 2_000, 300, 1, 50, 5, 20, 3)


def database_url_for(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def ensure_database(url: str, *, fresh: bool) -> None:
    """Create the database if it is missing (dropping it first with --fresh)."""
    import psycopg
    from psycopg import sql

    name = urlsplit(url).path.lstrip("/")
    try:
        admin = psycopg.connect(database_url_for(url, "postgres"), autocommit=True)
    except psycopg.OperationalError as exc:
        raise SystemExit(f"PostgreSQL is not reachable at {url}: {exc}") from None
    with admin:
        if fresh:
            print(f"dropping database {name} ...", flush=True)
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            print(f"creating database {name} ...", flush=True)
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def check_services(redis_url: str) -> None:
    import redis

    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk")
    try:
        redis.Redis.from_url(redis_url, socket_timeout=3).ping()
    except redis.RedisError as exc:
        raise SystemExit(f"Redis is not reachable at {redis_url}: {exc}") from None


def step(title: str, command: list[str], env: dict[str, str]) -> float:
    """Run one benchmark, its output shown as it comes; the seconds it took."""
    print(f"\n== {title}\n$ {shlex.join(command)}", flush=True)
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True)
    return time.perf_counter() - started


def paper_count(env: dict[str, str]) -> int:
    code = "from papers.models import Paper; print(Paper.objects.count())"
    output = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return int(output.strip().splitlines()[-1])


def machine() -> dict[str, str]:
    import psycopg
    import redis

    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = "unknown"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kib = int(meminfo.read_text().split("MemTotal:")[1].split()[0])
        memory = f"{kib / 2**20:.0f} GiB"
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        postgres = conn.execute("SHOW server_version").fetchone()[0]
    redis_version = redis.Redis.from_url(os.environ["REDIS_URL"]).info("server")["redis_version"]
    return {
        "cores": str(os.cpu_count()),
        "cpu": model,
        "memory": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
        "postgresql": postgres,
        "redis": redis_version,
        "wrk": subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split()[1],
    }


# --- the report -----------------------------------------------------------------------------


def _met(ok: bool) -> str:
    return "met" if ok else "**not met**"


def _ratio_met(ratio: float, target: float = RATIO_TARGET) -> bool:
    """Ratios are judged at the two decimals they are shown with (the noise is larger)."""
    return round(ratio, 2) >= target


def _n(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def http_phases(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The HTTP benchmark's phases as measured; figures from before the phases existed are
    the anonymous quiet phase's."""
    http = results["http"]
    if "phases" in http:
        return http["phases"]
    anonymous = PHASES[0]
    return [
        {
            "phase": anonymous.name,
            "title": anonymous.title,
            "member": False,
            "votes": False,
            "endpoints": http["endpoints"],
        }
    ]


def _is_search(endpoint: dict[str, Any]) -> bool:
    return "search" in endpoint["path"]


def _ratio_target(phase: dict[str, Any]) -> float:
    return MEMBER_RATIO_TARGET if phase["member"] else RATIO_TARGET


def http_targets(results: dict[str, Any]) -> list[list[str]]:
    """Per phase: throughput and p99 of the pages (and API lists), search's p50."""
    rows = []
    measured = {phase["phase"]: phase for phase in http_phases(results)}
    for expected in PHASES:
        phase = measured.get(expected.name)
        if phase is None:
            rows.append([f"{expected.title}: every target", "measured", "not run", "**not run**"])
            continue
        title, target = phase["title"], _ratio_target(phase)
        # "Search may be slower": it is held to its p50, the other endpoints to ratio and p99.
        searches = [e for e in phase["endpoints"] if _is_search(e)]
        pages = [e for e in phase["endpoints"] if not _is_search(e)]
        what = "a member's pages" if phase["member"] else "pages and API lists"
        if pages:
            worst = min(pages, key=lambda e: e["ratio"])
            rows.append(
                [
                    f"{title}: throughput, {what} (search aside)",
                    f"≥ {target} of the baseline",
                    f"{min(e['ratio'] for e in pages):.2f}-{max(e['ratio'] for e in pages):.2f}"
                    f" (lowest: {worst['endpoint']})",
                    _met(all(_ratio_met(e["ratio"], target) for e in pages)),
                ]
            )
            rows.append(
                [
                    f"{title}: p99 latency, {what} (search aside)",
                    f"< {P99_TARGET_MS:.0f} ms",
                    f"{min(e['p99'] for e in pages):.1f}-{max(e['p99'] for e in pages):.1f} ms",
                    _met(all(e["p99"] < P99_TARGET_MS for e in pages)),
                ]
            )
        if searches:
            rows.append(
                [
                    f"{title}: search p50",
                    f"< {SEARCH_P50_TARGET_MS:.0f} ms",
                    f"{max(e['p50'] for e in searches):.1f} ms (slowest)",
                    _met(all(e["p50"] < SEARCH_P50_TARGET_MS for e in searches)),
                ]
            )
    return rows


def targets_table(results: dict[str, Any]) -> list[list[str]]:
    """One row per target of the budget: what is needed, what was measured, met or not."""
    rows = http_targets(results)
    storm = results["storm"]
    rows.append(
        [
            "upvotes, zero drift",
            f"≥ {UPVOTES_TARGET:,}/s, drift 0",
            f"{_n(storm['votes_per_s'])}/s, drift {storm['drift']}",
            _met(storm["votes_per_s"] >= UPVOTES_TARGET and storm["drift"] == 0),
        ]
    )
    ingest = results["ingest"]
    rows.append(
        [
            f"ingestion, {ingest['records']:,} records, first run",
            f"≥ {INGEST_TARGET:,} papers/s",
            f"{_n(ingest['first_rate'])} papers/s",
            _met(ingest["first_rate"] >= INGEST_TARGET),
        ]
    )
    rows.append(
        [
            "ingestion re-run",
            "writes nothing, no slower",
            f"{ingest['rerun_writes']} writes, {ingest['rerun_seconds']:.1f} s "
            f"vs {ingest['first_seconds']:.1f} s",
            _met(
                ingest["rerun_writes"] == 0 and ingest["rerun_seconds"] <= ingest["first_seconds"]
            ),
        ]
    )
    rows += meaning_targets(results.get("meaning"))
    digests = results["digests"]
    rows.append(
        [
            f"digests, {digests['subscribers']:,} subscribers",
            f"≤ {DIGEST_SECONDS_TARGET:.0f} s, < {DIGEST_MEMORY_TARGET_MIB:.0f} MB",
            f"{digests['first_seconds']:.1f} s, {digests['sender_peak_mib']:.0f} MiB",
            _met(
                digests["first_seconds"] <= DIGEST_SECONDS_TARGET
                and digests["sender_peak_mib"] < DIGEST_MEMORY_TARGET_MIB
                and digests["first_mails"] == digests["subscribers"]
            ),
        ]
    )
    return rows


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def plain_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _kib(endpoint: dict[str, Any]) -> str:
    """KiB sent, and read when the answer travelled compressed."""
    sent = _n(endpoint["bytes"] / 1024)
    raw = endpoint.get("bytes_uncompressed", endpoint["bytes"])
    return sent if raw == endpoint["bytes"] else f"{sent} ({_n(raw / 1024)})"


def http_header(phase: dict[str, Any]) -> list[str]:
    """The phase's columns: the size reference and the voter's rate where it has them."""
    header = [
        "endpoint",
        "path",
        "KiB sent (read)",
        "req/s",
        "p50 ms",
        "p99 ms",
        "baseline req/s",
        "ratio",
    ]
    if any("same_size_ratio" in e for e in phase["endpoints"]):
        header.append("same-size ratio")
    if phase["votes"]:
        header.append("votes/s")
    if any("gc_full" in e for e in phase["endpoints"]):
        header += ["full GCs", "longest GC ms (CPU)"]
    return header


def http_rows(phase: dict[str, Any]) -> list[list[str]]:
    sizes = any("same_size_ratio" in e for e in phase["endpoints"])
    rows = []
    for e in phase["endpoints"]:
        row = [
            e["endpoint"],
            f"`{e['path']}`",
            _kib(e),
            _n(e["rps"]),
            f"{e['p50']:.2f}",
            f"{e['p99']:.2f}",
            _n(e["baseline_rps"]),
            f"{e['ratio']:.2f}",
        ]
        if sizes:
            row.append(f"{e['same_size_ratio']:.2f}" if "same_size_ratio" in e else "-")
        if phase["votes"]:
            row.append(f"{e['votes_per_s']:.1f}")
        if "gc_full" in e:
            row += [str(e["gc_full"]), f"{e['gc_longest_ms']:.1f} ({e['gc_longest_cpu_ms']:.1f})"]
        rows.append(row)
    return rows


def phase_text(phase: dict[str, Any], http: dict[str, Any]) -> str:
    """What the phase measured, in a sentence or two."""
    if not phase["member"]:
        who = "Visitors who are not signed in."
    else:
        upvoted = len(http.get("reader_upvotes", []))
        who = (
            f"`{phase.get('signed_in_as', 'a member')}`, a member signed in through the login "
            f"form (over HTTP, against the same gunicorn), who has upvoted {upvoted} of the "
            "busiest day's papers. wrk sends the member's session and CSRF cookies on every "
            "request, the baseline's included. Each page was checked before it was measured: "
            "a Log out button and upvote forms rather than login links, and on the day and the "
            "paper page the member's own votes marked."
        )
    voter = phase.get("voter")
    if voter is None:
        return f"{who} Nobody votes."
    others = " other" if phase["member"] else ""
    return (
        f"{who} Meanwhile {voter['members']}{others} members vote through the API with a "
        "token each (`POST /api/papers/<id>/upvote`, `DELETE` to take the vote back, "
        f"toggling) on the {voter['papers']} most upvoted papers of the busiest day, the paper "
        f"page's among them, at a steady {voter['target_per_s']:g}/s, through the baseline's "
        f"runs as well as the endpoints'. They cast {voter['votes']:,} votes in "
        f"{voter['seconds']:.0f} s: {voter['votes_per_s']:.1f}/s, at least "
        f"{voter['lowest_votes_per_s']:.1f}/s during any endpoint's runs (the votes/s column: "
        f"the rate during that endpoint's and its baseline's runs), {voter['errors']} errors; "
        f"vote latency p50 {voter['p50_ms']:.1f} ms, p99 {voter['p99_ms']:.1f} ms; the "
        f"voter's own CPU {voter['cpu_ms_per_vote']:.1f} ms per vote."
    )


PHASE_COLOURS = {  # none of them red: a missed target is drawn in red
    "anonymous": "#2a9d8f",
    "anonymous-votes": "#264653",
    "member": "#e9c46a",
    "member-votes": "#a47148",
}
MISSED = "#d62828"


def layers_section(layers: dict[str, Any] | None) -> list[str]:
    """What each caching layer saves per request (bench/layers.py), as a report section."""
    if not layers:
        return []
    rows = [
        [
            row["request"] if row["off"] is None else "",
            row["off"] or "(every layer on)",
            f"{row['ms']:.3f}",
            "" if row["off"] is None else f"{row['saves_ms']:+.3f}",
        ]
        for row in layers["rows"]
    ]
    return [
        "## What each caching layer saves",
        "",
        "One request's cost in process (Django's WSGI handler, production settings, warm; "
        f"medians of {layers['requests']} calls) with every layer of caching/ on, then with "
        "one layer switched off at a time: the difference is what that layer saves on each "
        "request. The trivial view is measured in the same run.",
        "",
        markdown_table(["request", "layer switched off", "ms", "saves ms"], rows),
        "",
    ]


def meaning_targets(found: dict[str, Any] | None) -> list[list[str]]:
    """Search by meaning: distinct hybrid searches, similar papers, the For you page."""
    if not found:
        return []
    search, similar, for_you = found["search_api"], found["similar"], found["for_you"]
    return [
        [
            "hybrid search (API), queries asked once",
            f"p50 < {SEARCH_P50_TARGET_MS:.0f} ms, p99 < {SEARCH_P99_TARGET_MS:.0f} ms",
            f"p50 {search['p50']:.1f} ms, p99 {search['p99']:.1f} ms",
            _met(search["p50"] < SEARCH_P50_TARGET_MS and search["p99"] < SEARCH_P99_TARGET_MS),
        ],
        [
            "similar papers (API), papers asked once",
            f"p50 < {SIMILAR_P50_TARGET_MS:.0f} ms",
            f"p50 {similar['p50']:.1f} ms",
            _met(similar["p50"] < SIMILAR_P50_TARGET_MS),
        ],
        [
            "For you, a member with 200 upvotes",
            f"≥ {MEMBER_RATIO_TARGET} of the baseline",
            f"{for_you['ratio']:.2f}",
            _met(for_you["ratio"] >= MEMBER_RATIO_TARGET),
        ],
    ]


def _latency(found: dict[str, float]) -> str:
    return f"p50 {found['p50']:.1f} ms, p99 {found['p99']:.1f} ms"


def meaning_section(found: dict[str, Any] | None) -> list[str]:
    """Embedding throughput, the index in a process, and the HTTP timings (bench/meaning.py)."""
    if not found:
        return []
    index, throughput, for_you = found["index"], found["throughput"], found["for_you"]
    backfill = found["backfill"]
    memory = ", ".join(f"{mb:.0f}" for mb in found["worker_rss_mb"])
    rows = [
        [
            "embedding, one core",
            f"{_n(throughput['papers_per_s'])} papers/s ({_n(throughput['papers'])} papers)",
        ],
        [
            "backfill of papers without a vector",
            f"{_n(backfill['written'])} in {backfill['seconds']:.1f} s",
        ],
        [
            "index",
            f"{_n(index['papers'])} vectors, {index['matrix_mb']:.0f} MB, "
            f"loaded in {index['load_seconds']:.1f} s",
        ],
        ["exact nearest 100 (numpy), in process", _latency(index["nearest"])],
        ["hybrid search, API, 200 queries asked once", _latency(found["search_api"])],
        ["hybrid search, page, 50 queries asked once", _latency(found["search_page"])],
        ["similar papers, API, 200 papers asked once", _latency(found["similar"])],
        ["web process memory, index loaded", f"{memory} MB"],
        [
            "For you, 200 upvotes (wrk, 10 connections)",
            f"{_n(for_you['rps'])} req/s vs {_n(for_you['baseline_rps'])} "
            f"(ratio {for_you['ratio']:.2f}), p99 {for_you['p99']:.1f} ms",
        ],
    ]
    return [
        "## Search by meaning",
        "",
        "bench/meaning.py: the model's throughput, the backfill, the index in one process, and "
        "through HTTP requests no cache has seen (each query and each paper asked once, one "
        "at a time).",
        "",
        markdown_table(["what", "measured"], rows),
        "",
    ]


def discussions_section(found: dict[str, Any] | None) -> list[str]:
    """Comments posted through the API at once, and the paper page with 500 comments."""
    if not found:
        return []
    storm, page = found["storm"], found["page"]
    return [
        "## Discussions",
        "",
        f"{storm['clients']} members with a token each post comments through the API "
        f"(`POST /api/papers/<id>/comment`) on the {storm['papers']} most upvoted papers of the "
        "busiest day, with wrk (bench/discussions.py). Drift counts the papers whose "
        "`comment_count` differs from their shown comments afterwards.",
        "",
        markdown_table(
            ["clients", "seconds", "comments", "comments/s", "errors", "p50 ms", "p99 ms", "drift"],
            [
                [
                    _n(storm["clients"]),
                    _n(storm["seconds"]),
                    _n(storm["comments"]),
                    _n(storm["comments_per_s"]),
                    _n(storm["errors"]),
                    f"{storm['p50_ms']:.1f}",
                    f"{storm['p99_ms']:.1f}",
                    _n(storm["drift"]),
                ]
            ],
        ),
        "",
        f"Then the next paper of that day gets exactly {page['comments']} comments (a third "
        f"of them replies) and its page (`{page['path']}`) is measured like the pages above, with "
        "wrk at 10 connections alternating with the baseline:",
        "",
        markdown_table(
            ["audience", "req/s", "p50 ms", "p99 ms", "baseline req/s", "ratio"],
            [
                [
                    audience,
                    _n(page[audience]["rps"]),
                    f"{page[audience]['p50']:.2f}",
                    f"{page[audience]['p99']:.2f}",
                    _n(page[audience]["baseline_rps"]),
                    f"{page[audience]['ratio']:.2f}",
                ]
                for audience in ("visitor", "member")
            ],
        ),
        "",
    ]


def plot(results: dict[str, Any], path: Path) -> None:
    """Ratios per endpoint, one bar per phase, with the two ratio targets."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    # Each endpoint's quiet and voted bars side by side: visitors first, then the member.
    phases = sorted(http_phases(results), key=lambda phase: (phase["member"], phase["votes"]))
    names = list(dict.fromkeys(e["endpoint"] for phase in phases for e in phase["endpoints"]))
    row = {name: i for i, name in enumerate(names)}
    height = 0.84 / len(phases)
    figure, axes = plt.subplots(
        figsize=(8, 0.22 * len(names) * len(phases) + 0.35 * len(names) + 1.6), dpi=110
    )
    highest = 1.2
    handles: list[Any] = []
    for i, phase in enumerate(phases):
        endpoints = phase["endpoints"]
        target = _ratio_target(phase)
        ys = [row[e["endpoint"]] + (i - (len(phases) - 1) / 2) * height for e in endpoints]
        ratios = [e["ratio"] for e in endpoints]
        highest = max(highest, *ratios)
        colour = PHASE_COLOURS.get(phase["phase"], "#8d99ae")
        bars = axes.barh(ys, ratios, height=height * 0.92, color=colour)
        handles.append(Patch(facecolor=colour, label=phase["title"]))
        for bar, e in zip(bars, endpoints, strict=True):
            if _is_search(e):  # held to its p50 instead
                bar.set_alpha(0.4)
            elif not _ratio_met(e["ratio"], target):
                bar.set_hatch("////")
                bar.set_edgecolor(MISSED)
        axes.bar_label(bars, labels=[f"{r:.2f}" for r in ratios], padding=2, fontsize=7)
        marks = [
            (y, e["same_size_ratio"])
            for y, e in zip(ys, endpoints, strict=True)
            if "same_size_ratio" in e
        ]
        if marks:
            highest = max(highest, *(s for _, s in marks))
            handles.append(
                axes.scatter(
                    [s for _, s in marks],
                    [y for y, _ in marks],
                    marker="|",
                    s=80,
                    color="#6d2e46",
                    label="a fixed answer of the same size (anonymous, quiet)",
                    zorder=3,
                )
            )
    for target, style, label in (
        (RATIO_TARGET, "--", f"target {RATIO_TARGET}: visitors' pages, API lists"),
        (MEMBER_RATIO_TARGET, ":", f"target {MEMBER_RATIO_TARGET}: a member's pages"),
    ):
        handles.append(
            axes.axvline(target, color="#555555", linestyle=style, linewidth=1, label=label)
        )
    handles.append(
        Patch(
            facecolor="white",
            edgecolor=MISSED,
            hatch="////",
            label="below its phase's target (faded: search, held to its p50)",
        )
    )
    axes.set_yticks(range(len(names)), names)
    axes.invert_yaxis()
    axes.set_xlabel("throughput as a share of the trivial view's, same phase")
    axes.set_xlim(0, highest + 0.15)
    axes.legend(
        handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=2, fontsize=7
    )
    axes.set_title(
        "Requests/s relative to the baseline, per phase (wrk, gunicorn, 2 cores)", fontsize=9
    )
    figure.tight_layout()
    figure.savefig(path, bbox_inches="tight")
    plt.close(figure)


def report(
    results: dict[str, Any],
    *,
    commands: list[str],
    info: dict[str, str],
    plot_path: Path,
    out: Path,
) -> str:
    ingest, storm, digests = results["ingest"], results["storm"], results["digests"]
    generated = results.get("generated")
    http = results["http"]
    notes = NOTES.read_text().strip() if NOTES.exists() else ""
    try:
        plot_link = plot_path.relative_to(out.parent)
    except ValueError:
        plot_link = plot_path
    parts = [
        "# Benchmarks",
        "",
        f"Written by `make bench` (`python -m bench.run`) on {results['date']}; every figure "
        "below comes from that one run. Ratios are taken within the run, each target right "
        "next to its own baseline, because this machine is noisy.",
        "",
        "## The machine",
        "",
        markdown_table(["", ""], [[key, value] for key, value in info.items()]),
        "",
        "PostgreSQL, Redis, gunicorn, wrk and every client share the same cores.",
        "",
        "## Targets",
        "",
        markdown_table(["target", "needed", "measured", ""], targets_table(results)),
        "",
        "## Running it",
        "",
        "`make bench` needs PostgreSQL, Redis and wrk on this machine. On Debian:",
        "",
        "```sh",
        "apt-get install -y postgresql redis-server wrk",
        "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
        'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no',
        "make bench                      # BENCH_ARGS=--fresh regenerates the data",
        "```",
        "",
        "It connects as `postgres` to `BENCH_DATABASE_URL` (default "
        f"`{DEFAULT_DATABASE_URL}`, created if missing) and uses `BENCH_REDIS_URL` (default "
        f"`{DEFAULT_REDIS_URL}`). gunicorn is started and stopped by the benchmarks themselves.",
        "",
        "The HTTP benchmark runs alone too, all its phases or some of them (`--phases`, from "
        + ", ".join(f"`{phase.name}`" for phase in PHASES)
        + "); it creates its members (`bench-reader`, `bench-voter-<i>`) itself:",
        "",
        "```sh",
        f"DATABASE_URL={DEFAULT_DATABASE_URL} REDIS_URL={DEFAULT_REDIS_URL} \\",
        "  .venv/bin/python -m bench.http --all --phases member,member-votes",
        "```",
        "",
        "## The commands",
        "",
        "```sh",
        "make bench    # = .venv/bin/python -m bench.run, which runs:",
        *commands,
        "```",
        "",
    ]
    if generated:
        parts += [
            "## Generated data",
            "",
            f"`generate_data` filled the database with {generated['papers']:,} papers over 3 "
            f"years, {generated['users']:,} members, {generated['upvotes']:,} upvotes (power "
            f"law per paper) and {generated['subscribers']:,} digest subscribers in "
            f"{generated['seconds']:.0f} s.",
            "",
        ]
    parts += [
        "## HTTP throughput against the trivial view",
        "",
        f"gunicorn with {http['workers']} sync workers and production settings (`DEBUG` off, "
        f"Redis cache), wrk with {http['connections']} connections (its default). The "
        "benchmark runs in phases: visitors and a signed-in member, each quiet and while "
        "other members vote. In each phase every endpoint and the baseline (`/healthz/live`, "
        "a two-byte answer through the same middleware) alternate "
        f"{http['rounds']} times for {http['duration']} s each, with the phase's headers on "
        "both, and the figures are their means; each ratio is to the baseline of its own "
        "phase. wrk sends "
        + (
            f"`Accept-Encoding: {http['headers']['Accept-Encoding']}`, as browsers and "
            "huggingface_hub do, so answers travel compressed where the site compresses them "
            "(the KiB column gives the size sent, and in brackets the size read). "
            if "Accept-Encoding" in http.get("headers", {})
            else "no `Accept-Encoding`, so answers travel uncompressed. "
        )
        + "The same-size ratio (visitors, quiet) is that of a fixed answer as large as what "
        "the endpoint sends (`/bench/bytes/<n>`, bench/settings.py): what the size of the "
        "answer alone allows on this machine.",
        "",
    ]
    for phase in http_phases(results):
        parts += [
            f"### {phase['title']}",
            "",
            phase_text(phase, http),
            "",
            markdown_table(http_header(phase), http_rows(phase)),
            "",
        ]
    parts += [
        f"![Throughput ratio per endpoint and phase]({plot_link})",
        "",
        *layers_section(results.get("layers")),
        "## Upvote storm",
        "",
        markdown_table(
            [
                "clients",
                "hot papers",
                "seconds",
                "votes",
                "votes/s",
                "errors",
                "p50 ms",
                "p99 ms",
                "drift",
            ],
            [
                [
                    _n(storm["clients"]),
                    _n(storm["papers"]),
                    _n(storm["seconds"]),
                    _n(storm["votes"]),
                    _n(storm["votes_per_s"]),
                    _n(storm["errors"]),
                    f"{storm['p50_ms']:.1f}",
                    f"{storm['p99_ms']:.1f}",
                    _n(storm["drift"]),
                ]
            ],
        ),
        "",
        f"Client: {storm.get('client', 'see bench/upvote_storm.py')}. Drift counts the papers "
        "whose `upvote_count` differs from their rows after the storm.",
        "",
        *discussions_section(results.get("discussions")),
        *meaning_section(results.get("meaning")),
        "## Ingestion from a Hugging Face-format file",
        "",
        markdown_table(
            ["run", "records", "seconds", "papers/s", "writes to papers"],
            [
                [
                    "first run",
                    _n(ingest["records"]),
                    f"{ingest['first_seconds']:.2f}",
                    _n(ingest["first_rate"]),
                    "all",
                ],
                [
                    "re-run",
                    _n(ingest["records"]),
                    f"{ingest['rerun_seconds']:.2f}",
                    _n(ingest["rerun_rate"]),
                    _n(ingest["rerun_writes"]),
                ],
            ],
        ),
        "",
        "## Digests to a local SMTP server",
        "",
        markdown_table(
            ["run", "subscribers", "seconds", "mails", "peak memory"],
            [
                [
                    "first run",
                    _n(digests["subscribers"]),
                    f"{digests['first_seconds']:.1f}",
                    f"{digests['first_mails']:,} ({digests['mib_received']:.0f} MiB)",
                    f"sender {digests['sender_peak_mib']:.0f} MiB, "
                    f"SMTP server {digests['smtp_peak_mib']:.0f} MiB",
                ],
                [
                    "re-run",
                    _n(digests["subscribers"]),
                    f"{digests['rerun_seconds']:.2f}",
                    _n(digests["rerun_mails"]),
                    "",
                ],
            ],
        ),
        "",
    ]
    if notes:
        parts += [notes, ""]
    return "\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: checks the machinery")
    parser.add_argument("--fresh", action="store_true", help="drop and regenerate the database")
    parser.add_argument("--out", type=Path, help="the report (default docs/BENCHMARKS.md)")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="write the report and plot again from the last run's benchmarks.json",
    )
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    out = args.out or (ROOT / ("var/bench/BENCHMARKS.md" if args.quick else "docs/BENCHMARKS.md"))
    plot_path = out.parent / "benchmarks.png"
    saved = out.parent / "benchmarks.json"  # every figure of the last run, as measured
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.report_only:
        write_report(json.loads(saved.read_text()), out=out, plot_path=plot_path)
        return

    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    if args.quick:  # small data of its own: never mixed with the full run's
        database_url += "_quick"
    digests_url = database_url + "_digests"
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL)
    check_services(redis_url)
    ensure_database(database_url, fresh=args.fresh)
    ensure_database(digests_url, fresh=True)
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url}
    digests_env = {**env, "DATABASE_URL": digests_url}
    os.environ.update(DATABASE_URL=database_url, REDIS_URL=redis_url)
    python = sys.executable
    shown = f"DATABASE_URL={database_url} REDIS_URL={redis_url}"
    commands = []
    results: dict[str, Any] = {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}
    started = time.perf_counter()

    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)

        def run(title: str, module_args: list[str], *, step_env: dict[str, str], show: str) -> None:
            command = [python, *module_args]
            commands.append(f"{show} python {shlex.join(module_args)}")
            step(title, command, step_env)

        for the_env, show in ((env, shown), (digests_env, f"DATABASE_URL={digests_url}")):
            run("migrate", ["manage.py", "migrate", "-v0"], step_env=the_env, show=show)
        if paper_count(env) == 0:
            generate = [
                "-m",
                "bench.generate_data",
                f"--papers={sizes.papers}",
                f"--users={sizes.users}",
                f"--upvotes={sizes.upvotes}",
                f"--subscribers={sizes.subscribers}",
            ]
            commands.append(f"{shown} python {shlex.join(generate)}")
            seconds = step("generate data", [python, *generate], env)
            results["generated"] = {**sizes.__dict__, "seconds": seconds}
        else:
            print("\nthe database has papers already: not generating (--fresh starts over)")
        run(
            "ingestion",
            [
                "-m",
                "bench.ingest_file",
                f"--records={sizes.ingest_records}",
                "--json",
                str(scratch / "ingest.json"),
            ],
            step_env=env,
            show=shown,
        )
        run(
            "search by meaning",
            [
                "-m",
                "bench.meaning",
                f"--seconds={sizes.http_duration}",
                "--json",
                str(scratch / "meaning.json"),
            ],
            step_env=env,
            show=shown,
        )
        run(
            "HTTP throughput",
            [
                "-m",
                "bench.http",
                "--all",
                f"--duration={sizes.http_duration}",
                "--json",
                str(scratch / "http.json"),
            ],
            step_env=env,
            show=shown,
        )
        run(
            "caching layers",
            ["-m", "bench.layers", "--json", str(scratch / "layers.json")],
            step_env=env,
            show=shown,
        )
        run(
            "upvote storm",
            [
                "-m",
                "bench.upvote_storm",
                f"--clients={sizes.storm_clients}",
                f"--seconds={sizes.storm_seconds}",
                "--json",
                str(scratch / "storm.json"),
            ],
            step_env=env,
            show=shown,
        )
        run(
            "discussions",
            [
                "-m",
                "bench.discussions",
                f"--clients={sizes.comment_clients}",
                f"--seconds={sizes.comment_seconds}",
                f"--page-seconds={sizes.http_duration}",
                "--json",
                str(scratch / "discussions.json"),
            ],
            step_env=env,
            show=shown,
        )
        run(
            "digests",
            [
                "-m",
                "bench.digests",
                f"--subscribers={sizes.digest_subscribers}",
                "--json",
                str(scratch / "digests.json"),
            ],
            step_env=digests_env,
            show=f"DATABASE_URL={digests_url}",
        )
        for name in ("ingest", "meaning", "http", "layers", "storm", "discussions", "digests"):
            results[name] = json.loads((scratch / f"{name}.json").read_text())
    # The commands as a reader runs them (JSON outputs go to a temporary folder).
    commands = [c.replace(f" --json {scratch}/", " --json ") for c in commands]

    results["machine"] = {**machine(), "gunicorn workers": str(results["http"]["workers"])}
    results["commands"] = commands
    saved.write_text(json.dumps(results, indent=2) + "\n")
    write_report(results, out=out, plot_path=plot_path)
    print(f"\nwrote {out}, {plot_path} and {saved} in {time.perf_counter() - started:.0f} s")


def write_report(results: dict[str, Any], *, out: Path, plot_path: Path) -> None:
    """The report and the plot from the results; prints the tables."""
    plot(results, plot_path)
    text = report(
        results,
        commands=results["commands"],
        info=results["machine"],
        plot_path=plot_path,
        out=out,
    )
    out.write_text(text)
    for phase in http_phases(results):
        print(f"\n{phase['title']}\n" + plain_table(http_header(phase), http_rows(phase)))
    print("\n" + plain_table(["target", "needed", "measured", ""], targets_table(results)))


if __name__ == "__main__":
    main()
