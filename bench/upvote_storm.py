"""Upvote storm: many members toggle their votes on a few hot papers at once, then the
counters are checked against the vote rows.

Creates `--clients` members (storm-<i>) with one API token each and `--papers` hot papers
(ids 9902.xxxxx; earlier storm members and their votes are removed first), starts gunicorn
with production settings, and runs one client per member for `--seconds`. Each client
toggles its votes on the hot papers: it picks a random hot paper and upvotes it (POST) if
it has no vote there yet, takes the vote back (DELETE) otherwise.

`--client wrk` (the default) drives the storm with wrk and a Lua script: one connection
per member, so the load generator costs little CPU next to the server on a small machine;
the script checks every answer (200 with the `upvoted` the method asks for) and prints
progress. `--client threads` (a thread and a keep-alive httpx.Client per member) and
`--client async` (httpx.AsyncClient on one event loop) are pure-Python alternatives; on
2 cores they measure the client as much as the server.

The tables a storm writes are vacuumed first (where autovacuum is off, dead copies of the
hot rows would pile up from run to run). After an unmeasured warm-up, prints progress, then
vote operations/s (answers after the deadline are not counted), errors, p50/p99 latency,
the CPU time per vote of the gunicorn workers, of the PostgreSQL backends of this database
and of the client, and the drift check (Paper.upvote_count against the Upvote rows, per
paper); `--json PATH` writes the same as one JSON object. Exits non-zero on drift.

CPU per vote hardly depends on what else the machine runs, unlike votes/s: compare it
between runs on a shared machine. It comes from /proc (Linux, PostgreSQL on this host), so
it leaves out Redis and the kernel's network work outside these processes, and the
backends' share is low if Django reconnects during the run (CONN_MAX_AGE).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dailypapers_bench \\
    REDIS_URL=redis://127.0.0.1:6379/3 .venv/bin/python -m bench.upvote_storm \\
        --clients 200 --papers 5 --seconds 20 --json var/upvote_storm.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.http import server_env, start_gunicorn
from bench.members import create_token_members, remove_members

USERNAME_PREFIX = "storm-"
PAPER_ID_PREFIX = "9902."
PROGRESS_EVERY = 5.0
FORWARDED_HTTPS = {"X-Forwarded-Proto": "https"}  # production settings redirect plain HTTP

# wrk runs one thread per member with one connection each: a thread has at most one
# request in flight, so response() knows which request it answers and checks it. Threads
# are cheap next to the server's work (each mostly waits in epoll).
# The part every storm shares: thread i is member i, with the i-th token of the file.
WRK_MEMBERS = r"""
local first_thread, threads = 0, {}

function setup(thread)
  thread:set("index", first_thread)
  first_thread = first_thread + 1
  table.insert(threads, thread)
end

function member(args)
  -- args: the tokens file (one a line), the hot papers' ids (comma-separated), a seed
  local n = 0
  for line in io.lines(args[1]) do
    if n == index then token = line end
    n = n + 1
  end
  papers = {}
  for id in string.gmatch(args[2], "[^,]+") do papers[#papers + 1] = id end
  math.randomseed(tonumber(args[3]) + index)
end
"""
WRK_SCRIPT = (
    WRK_MEMBERS
    + r"""
function init(args)
  member(args)
  local headers = function()
    return {Authorization = "Bearer " .. token, ["X-Forwarded-Proto"] = "https"}
  end
  requests = {}  -- pre-built: requests[paper] = {POST ..., DELETE ...}
  for p, id in ipairs(papers) do
    local path = "/api/papers/" .. id .. "/upvote"
    requests[p] = {
      wrk.format("POST", path, headers(), ""), wrk.format("DELETE", path, headers(), "")
    }
  end
  voted = {}  -- this member's votes as it believes them to be
  expect = nil  -- the `upvoted` the request in flight must answer
  ups, downs, statuses, wrong, bodies = 0, 0, {}, 0, 0
  started, next_report = os.time(), os.time() + PROGRESS
end

function request()
  local p = math.random(#papers)
  local up = not voted[p]
  voted[p] = up
  expect = up
  local now = os.time()
  if now >= next_report then
    io.write(string.format("PROGRESS %d %d %d %d\n", index, next_report - started,
      ups + downs, wrong + bodies + (statuses.n or 0)))
    io.stdout:flush()
    next_report = next_report + PROGRESS
  end
  return requests[p][up and 1 or 2]
end

function response(status, headers, body)
  if status ~= 200 then
    statuses[tostring(status)] = (statuses[tostring(status)] or 0) + 1
    statuses.n = (statuses.n or 0) + 1
  elseif string.find(body, '"upvoted":true', 1, true) then
    if expect == true then ups = ups + 1 else wrong = wrong + 1 end
  elseif string.find(body, '"upvoted":false', 1, true) then
    if expect == false then downs = downs + 1 else wrong = wrong + 1 end
  else
    bodies = bodies + 1
  end
end

function done(summary, latency, requests)
  local total = {ups = 0, downs = 0, wrong = 0, bodies = 0, statuses = {}}
  for _, thread in ipairs(threads) do
    total.ups = total.ups + thread:get("ups")
    total.downs = total.downs + thread:get("downs")
    total.wrong = total.wrong + thread:get("wrong")
    total.bodies = total.bodies + thread:get("bodies")
    for status, n in pairs(thread:get("statuses")) do
      if status ~= "n" then total.statuses[status] = (total.statuses[status] or 0) + n end
    end
  end
  local parts = {}
  for status, n in pairs(total.statuses) do
    parts[#parts + 1] = string.format('"%s": %d', status, n)
  end
  local e = summary.errors
  io.write(string.format(
    'RESULT {"duration_us": %d, "requests": %d, "ups": %d, "downs": %d, "wrong_state": %d, ' ..
    '"bad_body": %d, "statuses": {%s}, "connect": %d, "read": %d, "write": %d, ' ..
    '"timeout": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.duration, summary.requests, total.ups, total.downs, total.wrong, total.bodies,
    table.concat(parts, ", "), e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""
)


@dataclass(slots=True)
class Stats:
    ok: int = 0
    errors: int = 0
    late: int = 0  # answered after the deadline: not in the throughput or latencies
    latencies: list[float] = field(default_factory=list)  # seconds, successful calls only
    error_samples: dict[str, int] = field(default_factory=dict)

    def error(self, label: str) -> None:
        self.errors += 1
        self.error_samples[label] = self.error_samples.get(label, 0) + 1


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process (Linux /proc); 0 when it cannot be read."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()  # from field 3 (state) on
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(parent: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == parent:
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def cpu_snapshot(server_pid: int) -> dict[str, dict[int, float]]:
    """CPU seconds so far of the gunicorn workers and of the PostgreSQL backends connected to
    this database (the server's; the machine's other load is not counted), and of this
    process with its finished children (the client: wrk once it has exited)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        backends = [pid for (pid,) in cursor.fetchall()]
    own = resource.getrusage(resource.RUSAGE_SELF)
    waited = resource.getrusage(resource.RUSAGE_CHILDREN)
    client = own.ru_utime + own.ru_stime + waited.ru_utime + waited.ru_stime
    return {
        "app": {pid: _cpu_seconds(pid) for pid in _children(server_pid)},
        "db": {pid: _cpu_seconds(pid) for pid in backends},
        "client": {0: client},
    }


def cpu_used(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]) -> dict:
    """CPU seconds each side used between two snapshots (a process that started in between
    counts from zero)."""
    return {
        side: sum(max(0.0, seconds - before[side].get(pid, 0.0)) for pid, seconds in now.items())
        for side, now in after.items()
    }


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def remove_previous_storm() -> None:
    """Delete earlier storm members; their votes go with the counters moved down, the way
    paper_unvote does it, so the hot papers start without drift."""
    remove_members(USERNAME_PREFIX)


def create_members(count: int) -> list[str]:
    """`count` members, one API token each (made by accounts.services); the plaintexts."""
    return create_token_members(USERNAME_PREFIX, count, label="upvote storm")


def hot_papers(count: int) -> list[str]:
    """Create (or refresh) the hot papers through papers_upsert; their arXiv ids."""
    from papers.models import Paper
    from papers.services.ingestion import papers_upsert
    from papers.sources.records import Author, PaperRecord

    today = datetime.now(UTC).date()
    ids = [f"{PAPER_ID_PREFIX}{n:05d}" for n in range(1, count + 1)]
    records = [
        PaperRecord(
            source="arxiv",
            arxiv_id=arxiv_id,
            version=1,
            title=f"Hot paper {n} for the upvote storm",
            abstract="A paper everyone votes for at once.",
            authors=[Author("Ada Lovelace", ("Analytical Engines Ltd",)), Author("Alan Turing")],
            published_at=datetime(2026, 4, 1, 12, tzinfo=UTC),
            source_updated_at=datetime(2026, 4, 1, 12, tzinfo=UTC),
            listed_on=today,
            primary_category="cs.AI",
            categories=["cs.AI", "cs.LG"],
        )
        for n, arxiv_id in enumerate(ids, start=1)
    ]
    result = papers_upsert(items=records)
    if result.rejected:
        raise SystemExit(f"hot papers rejected: {result.rejected}")
    Paper.objects.filter(arxiv_id__in=ids).update(hidden=False)
    return ids


def vacuum() -> None:
    """PostgreSQL: VACUUM the tables a storm writes. Each vote leaves a dead copy of a hot
    paper's row (and of its index entries); where autovacuum is off (as on some benchmark
    machines) they pile up from run to run and make every later run slower."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    from accounts.models import ApiToken, User
    from papers.models import Paper, Upvote

    tables = ", ".join(m._meta.db_table for m in (Paper, Upvote, ApiToken, User))
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {tables}")


def drift_report(arxiv_ids: list[str]) -> int:
    """Print each hot paper's counter and vote rows; the number of papers whose counter
    differs from their rows."""
    from django.db.models import Count

    from papers.models import Paper

    papers = (
        Paper.objects.filter(arxiv_id__in=arxiv_ids)
        .annotate(rows=Count("upvotes"))
        .order_by("arxiv_id")
    )
    print(f"{'paper':<12} {'upvote_count':>12} {'rows':>6} {'diff':>6}")
    drifting = total = 0
    for paper in papers:
        diff = paper.upvote_count - paper.rows
        drifting += diff != 0
        total += abs(diff)
        print(f"{paper.arxiv_id:<12} {paper.upvote_count:>12} {paper.rows:>6} {diff:>+6}")
    print(f"drift: {drifting} papers off by {total} votes in all", flush=True)
    return drifting


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


def record(
    stats: Stats, response: httpx.Response, upvoted: bool, elapsed: float, deadline: float
) -> None:
    """Count one answer: a success only with 200 and the expected vote state."""
    if response.status_code == 200 and time.monotonic() > deadline:
        stats.late += 1
    elif response.status_code != 200:
        stats.error(f"HTTP {response.status_code}")
    elif response.json().get("upvoted") is not upvoted:
        stats.error("wrong vote state")
    else:
        stats.ok += 1
        stats.latencies.append(elapsed)


def toggle(rng: random.Random, paper_ids: list[str], voted: set[str]) -> tuple[str, str, bool]:
    """A client's next call: upvote a random hot paper it has no vote on, else take the
    vote back. The method, the path and the `upvoted` the answer must carry."""
    paper = rng.choice(paper_ids)
    upvoted = paper not in voted
    voted.symmetric_difference_update((paper,))
    return ("POST" if upvoted else "DELETE"), f"/api/papers/{paper}/upvote", upvoted


def report_progress(stats: Stats, elapsed: float) -> None:
    print(
        f"  {elapsed:5.1f}s  {stats.ok:>8} votes  {stats.ok / elapsed:>7.0f}/s  "
        f"{stats.errors} errors",
        flush=True,
    )


async def client(
    http: httpx.AsyncClient,
    token: str,
    paper_ids: list[str],
    stats: Stats,
    deadline: float,
    rng: random.Random,
) -> None:
    """Toggle the vote on a random hot paper; repeat until the deadline."""
    headers = {"Authorization": f"Bearer {token}"}
    voted: set[str] = set()
    while time.monotonic() < deadline:
        method, path, upvoted = toggle(rng, paper_ids, voted)
        started = time.perf_counter()
        try:
            response = await http.request(method, path, headers=headers)
        except httpx.HTTPError as exc:
            stats.error(type(exc).__name__)
            continue
        record(stats, response, upvoted, time.perf_counter() - started, deadline)


async def progress(stats: Stats, started: float, deadline: float) -> None:
    while True:
        await asyncio.sleep(PROGRESS_EVERY)
        now = time.monotonic()
        if now >= deadline:
            return
        report_progress(stats, now - started)


async def storm(
    base: str,
    tokens: list[str],
    paper_ids: list[str],
    seconds: float,
    seed: int,
    *,
    quiet: bool = False,
) -> tuple[Stats, float]:
    """All clients at once on one event loop; the stats and the counted seconds."""
    stats = Stats()
    limits = httpx.Limits(max_connections=len(tokens), max_keepalive_connections=len(tokens))
    async with httpx.AsyncClient(
        base_url=base,
        headers=FORWARDED_HTTPS,
        limits=limits,
        timeout=httpx.Timeout(30.0, pool=None),
    ) as http:
        started = time.monotonic()
        deadline = started + seconds
        reporter = None if quiet else asyncio.create_task(progress(stats, started, deadline))
        await asyncio.gather(
            *(
                client(http, token, paper_ids, stats, deadline, random.Random(seed + i))
                for i, token in enumerate(tokens)
            )
        )
        if reporter is not None:
            reporter.cancel()
    return stats, seconds


def storm_threads(
    base: str, tokens: list[str], paper_ids: list[str], seconds: float, seed: int
) -> tuple[Stats, float]:
    """One thread per client, each with its own keep-alive httpx.Client."""
    stats = Stats()
    lock = threading.Lock()
    clients = [  # made before the clock starts: each one builds an SSL context
        httpx.Client(
            base_url=base,
            headers={**FORWARDED_HTTPS, "Authorization": f"Bearer {token}"},
            timeout=30.0,
        )
        for token in tokens
    ]
    started = time.monotonic()
    deadline = started + seconds

    def run(i: int, http: httpx.Client) -> None:
        rng = random.Random(seed + i)
        voted: set[str] = set()
        with http:
            while time.monotonic() < deadline:
                method, path, upvoted = toggle(rng, paper_ids, voted)
                begun = time.perf_counter()
                try:
                    response = http.request(method, path)
                except httpx.HTTPError as exc:
                    with lock:
                        stats.error(type(exc).__name__)
                    continue
                elapsed = time.perf_counter() - begun
                with lock:
                    record(stats, response, upvoted, elapsed, deadline)

    threads = [
        threading.Thread(target=run, args=(i, http), daemon=True) for i, http in enumerate(clients)
    ]
    for thread in threads:
        thread.start()
    next_report = started + PROGRESS_EVERY
    while any(thread.is_alive() for thread in threads):
        time.sleep(0.2)
        now = time.monotonic()
        if next_report <= now < deadline:
            next_report += PROGRESS_EVERY
            report_progress(stats, now - started)
    return stats, seconds


@dataclass(slots=True)
class Result:
    """One measured storm, whichever client ran it."""

    client: str
    seconds: float
    votes: int
    errors: int
    p50_ms: float
    p99_ms: float
    error_kinds: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_stats(cls, client: str, stats: Stats, seconds: float) -> Result:
        return cls(
            client=client,
            seconds=seconds,
            votes=stats.ok,
            errors=stats.errors,
            p50_ms=percentile(stats.latencies, 50) * 1000,
            p99_ms=percentile(stats.latencies, 99) * 1000,
            error_kinds=dict(stats.error_samples),
        )


def storm_wrk(
    base: str, tokens: list[str], paper_ids: list[str], seconds: float, seed: int
) -> Result:
    """wrk with one thread and one connection per member (see WRK_SCRIPT)."""
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk (or use --client threads)")
    with tempfile.TemporaryDirectory(prefix="upvote-storm-") as scratch:
        script = Path(scratch) / "storm.lua"
        script.write_text(f"PROGRESS = {int(PROGRESS_EVERY)}\n{WRK_SCRIPT}")
        token_file = Path(scratch) / "tokens"
        token_file.write_text("".join(f"{token}\n" for token in tokens))
        command = [
            "wrk",
            f"-t{len(tokens)}",
            f"-c{len(tokens)}",
            f"-d{max(1, round(seconds))}s",
            "--timeout=30s",
            f"-s{script}",
            base,
            "--",
            str(token_file),
            ",".join(paper_ids),
            str(seed),
        ]
        wrk = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert wrk.stdout is not None
        result: dict[str, Any] | None = None
        ticks: dict[int, dict[int, tuple[int, int]]] = {}  # second -> thread -> counts
        for line in wrk.stdout:
            if line.startswith("PROGRESS "):
                thread, second, votes, errors = map(int, line.split()[1:])
                ticks.setdefault(second, {})[thread] = (votes, errors)
                if len(ticks[second]) == len(tokens):  # every client has reported
                    counts = ticks.pop(second).values()
                    votes, errors = sum(c[0] for c in counts), sum(c[1] for c in counts)
                    print(
                        f"  {second:5.1f}s  {votes:>8} votes  {votes / second:>7.0f}/s  "
                        f"{errors} errors",
                        flush=True,
                    )
            elif line.startswith("RESULT "):
                result = json.loads(line.removeprefix("RESULT "))
        if wrk.wait() != 0 or result is None:
            raise SystemExit(f"wrk failed (exit status {wrk.returncode})")
    kinds = {f"HTTP {status}": n for status, n in result["statuses"].items()}
    kinds |= {"wrong vote state": result["wrong_state"], "unreadable body": result["bad_body"]}
    kinds |= {f"socket {kind}": result[kind] for kind in ("connect", "read", "write", "timeout")}
    kinds = {kind: n for kind, n in kinds.items() if n}
    return Result(
        client="wrk",
        seconds=result["duration_us"] / 1e6,
        votes=result["ups"] + result["downs"],
        errors=sum(kinds.values()),
        p50_ms=result["p50_us"] / 1000,
        p99_ms=result["p99_us"] / 1000,
        error_kinds=kinds,
    )


def run_storm(
    client: str, base: str, tokens: list[str], paper_ids: list[str], seconds: float, seed: int
) -> Result:
    if client == "wrk":
        return storm_wrk(base, tokens, paper_ids, seconds, seed)
    if client == "threads":
        stats, elapsed = storm_threads(base, tokens, paper_ids, seconds, seed)
    else:
        stats, elapsed = asyncio.run(storm(base, tokens, paper_ids, seconds, seed))
    return Result.from_stats(client, stats, elapsed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200, help="members voting at once")
    parser.add_argument("--papers", type=int, default=5, help="hot papers they vote on")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 1) * 2 + 1)
    parser.add_argument("--port", type=int, default=8902)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds first")
    parser.add_argument(
        "--client",
        "--mode",
        dest="client",
        choices=("wrk", "threads", "async"),
        default="wrk",
        help="the load generator: wrk (C, little CPU) or Python threads / asyncio with httpx",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the result there")
    args = parser.parse_args()

    env = server_env(args.port)
    os.environ.update(env)  # the same settings for the data setup here and the server
    setup_django()
    print(f"creating {args.clients} members and {args.papers} hot papers ...", flush=True)
    remove_previous_storm()
    tokens = create_members(args.clients)
    paper_ids = hot_papers(args.papers)
    vacuum()
    if drift_report(paper_ids):
        raise SystemExit("the hot papers drift before the storm: fix that first")

    print(f"starting gunicorn with {args.workers} workers ...", flush=True)
    server = start_gunicorn(env, workers=args.workers, port=args.port)
    base = f"http://127.0.0.1:{args.port}"
    try:
        if args.warmup > 0:  # each worker's first requests are slow: not measured
            print(f"warming up for {args.warmup:g} s ...", flush=True)
            if args.client == "wrk":
                storm_wrk(base, tokens, paper_ids, args.warmup, args.seed + 10_000)
            else:
                asyncio.run(storm(base, tokens, paper_ids, args.warmup, args.seed, quiet=True))
        print(
            f"storm: {args.clients} clients ({args.client}), {args.papers} papers, "
            f"{args.seconds:g} s ...",
            flush=True,
        )
        cpu_before = cpu_snapshot(server.pid)
        result = run_storm(args.client, base, tokens, paper_ids, args.seconds, args.seed)
        cpu = cpu_used(cpu_before, cpu_snapshot(server.pid))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    rate = result.votes / result.seconds if result.seconds else 0.0
    print(f"{'clients':>7} {'votes':>8} {'votes/s':>8} {'errors':>6} {'p50 ms':>7} {'p99 ms':>7}")
    print(
        f"{args.clients:>7} {result.votes:>8} {rate:>8.0f} {result.errors:>6} "
        f"{result.p50_ms:>7.1f} {result.p99_ms:>7.1f}"
    )
    for label, n in sorted(result.error_kinds.items()):
        print(f"  error {label}: {n}")
    # CPU per vote does not depend on what else the machine runs, unlike votes/s.
    per_vote = {side: 1000 * seconds / max(1, result.votes) for side, seconds in cpu.items()}
    cores = os.cpu_count() or 1
    server_ms = per_vote["app"] + per_vote["db"]
    print(
        f"CPU per vote: gunicorn {per_vote['app']:.2f} ms, PostgreSQL {per_vote['db']:.2f} ms, "
        f"client ({result.client}) {per_vote['client']:.2f} ms; with {cores} cores to itself "
        f"the server would answer at most ~{cores * 1000 / max(server_ms, 1e-9):.0f} votes/s"
    )
    drift = drift_report(paper_ids)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        summary = {
            "clients": args.clients,
            "papers": args.papers,
            "seconds": round(result.seconds, 3),
            "votes": result.votes,
            "votes_per_s": round(rate, 1),
            "errors": result.errors,
            "p50_ms": round(result.p50_ms, 2),
            "p99_ms": round(result.p99_ms, 2),
            "drift": drift,
            "client": result.client,
            "workers": args.workers,
            "error_kinds": result.error_kinds,
            "cpu_ms_per_vote": {side: round(ms, 3) for side, ms in per_vote.items()},
        }
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    if drift:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
