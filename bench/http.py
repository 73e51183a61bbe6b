"""HTTP throughput of pages and API endpoints against a trivial view, in one run.

Starts gunicorn with production settings (DEBUG off, Redis cache when REDIS_URL is set),
loads the demo papers, then measures in phases (`--phases`, all by default):

- `anonymous`: visitors who are not signed in, nobody voting;
- `member`: a member signed in through the login form, with their session cookie;
- `anonymous-votes`, `member-votes`: the same while members vote at 10/s through the API
  (bench/voter.py), during the baseline's runs and the endpoints' alike.

In each phase wrk runs against the baseline (`/healthz/live`, a fixed response through the
same middleware) and each target in alternation, with the phase's headers on both, and
prints requests/s, p50, p99 and the ratio to that phase's baseline. In the anonymous quiet
phase each target is also compared with a fixed answer of its own size
(`/bench/bytes/<n>`, see bench/settings.py): the ratio that the size alone allows. A member
phase checks first that every page it measures is the member's; a votes phase fails if the
voter fell below 9 votes/s or had errors. Needs `wrk` (apt-get install wrk).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dailypapers_gen \\
    REDIS_URL=redis://127.0.0.1:6379/4 .venv/bin/python -m bench.http --all --json out.json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from bench.members import Reader, create_token_members, prepare_reader, remove_members
from bench.voter import Voter

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "/healthz/live"
DEMO_DAY = "2026-06-12"
DEMO_PAPER = "2606.13392"
DEMO_TARGETS = {
    "api daily_papers": f"/api/daily_papers?date={DEMO_DAY}",
    "daily feed": f"/papers/date/{DEMO_DAY}",
    "paper page": f"/papers/{DEMO_PAPER}",
}
# What a signed-in member reads: the pages, not the API (its clients use tokens).
MEMBER_ENDPOINTS = (
    "busiest day",
    "its week",
    "its month",
    "trending",
    "paper page",
    "search common",
    "daily feed",
    "category day",
)
# Pages that show the reader's own votes: the day whose top papers it upvoted, and the top one.
MARKED_ENDPOINTS = ("busiest day", "daily feed", "paper page")

VOTES_PER_S = 10.0
MIN_VOTES_PER_S = 9.0
VOTER_MEMBERS = 20  # each votes every 2 s: a slow answer holds up one member, not the rate
VOTED_PAPERS = 10  # the busiest day's most upvoted: on the first page of the day
VOTER_PREFIX = "bench-voter-"
READER = Reader("bench-reader", "bench-reader@example.org", "bench-reader-password-0")
READER_UPVOTES = 3

# The member's page, as templates/base.html and includes/upvote_button.html draw it
# (tests/bench/test_http.py checks them against the templates).
LOGOUT_MARK = ">Log out</button>"
UPVOTE_FORM_MARK = '<form class="upvote" method="post"'
LOGIN_LINK_MARK = 'href="/accounts/login/?next='  # the visitor's "Log in" and upvote links
UPVOTED_MARK = 'aria-pressed="true"'  # a vote button the member has pressed


@dataclass(frozen=True)
class Phase:
    """Who reads (a visitor or the signed-in reader) and whether members vote meanwhile."""

    name: str  # as --phases takes it
    title: str  # as the tables show it
    member: bool
    votes: bool


PHASES = (
    Phase("anonymous", "anonymous, quiet", member=False, votes=False),
    Phase("member", "member, quiet", member=True, votes=False),
    Phase("anonymous-votes", f"anonymous, votes at {VOTES_PER_S:g}/s", member=False, votes=True),
    Phase("member-votes", f"member, votes at {VOTES_PER_S:g}/s", member=True, votes=True),
)


@dataclass(frozen=True)
class Targets:
    """What the phases measure: the endpoints, and the day's papers that are voted on."""

    endpoints: dict[str, str]
    day_papers: list[str]  # the day's most upvoted first; the paper page's paper is first

    def for_phase(self, phase: Phase) -> dict[str, str]:
        if not phase.member:
            return self.endpoints
        return {name: path for name, path in self.endpoints.items() if name in MEMBER_ENDPOINTS}


def setup_django() -> None:
    """Django in this process, for the data setup (the server has its own settings)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    # Django's logging setup shows httpx's line per request: the voter's would flood the output.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def busiest_day() -> Any:
    """The day with the most papers."""
    from django.db.models import Count

    from papers.models import Paper

    return (Paper.objects.values("listed_on").annotate(n=Count("id")).order_by("-n").first())[
        "listed_on"
    ]


def top_papers(day: Any, count: int) -> list[str]:
    """The arXiv ids of the day's `count` most upvoted visible papers."""
    from papers.models import Paper

    papers = Paper.objects.visible().filter(listed_on=day).order_by("-upvote_count", "arxiv_id")
    return list(papers.values_list("arxiv_id", flat=True)[:count])


def database_targets() -> dict[str, str]:
    """Every endpoint of the performance budget, on the busiest day of the database."""
    setup_django()
    from papers.periods import period_of

    busiest = busiest_day()
    return {
        "busiest day": f"/papers/date/{busiest}",
        "its week": f"/papers/week/{period_of('week', busiest).slug}",
        "its month": f"/papers/month/{busiest:%Y-%m}",
        "trending": "/papers/trending",
        "paper page": f"/papers/{top_papers(busiest, 1)[0]}",
        "search common": "/papers/search?q=learning",
        "search rare": "/papers/search?q=adversarial+spectral+kernel+calibration",
        "api daily_papers": f"/api/daily_papers?date={busiest}",
        "api search": "/api/papers/search?q=learning",
        "category day": f"/papers/category/cs.LG/date/{busiest}",
        "category month": f"/papers/category/cs.LG/month/{busiest:%Y-%m}",
        "api papers category": "/api/papers?category=cs.LG",
    }


def targets(*, every_endpoint: bool) -> Targets:
    """The budget's endpoints on the busiest day (--all), or the demo's few."""
    setup_django()
    if every_endpoint:
        endpoints = database_targets()
        day = busiest_day()
    else:
        endpoints, day = DEMO_TARGETS, DEMO_DAY
    paper = endpoints["paper page"].rsplit("/", 1)[1]
    others = [arxiv_id for arxiv_id in top_papers(day, VOTED_PAPERS) if arxiv_id != paper]
    return Targets(endpoints=endpoints, day_papers=[paper, *others][:VOTED_PAPERS])


def server_env(port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        # Production settings, plus the size reference's route (bench/settings.py).
        DJANGO_SETTINGS_MODULE="bench.settings",
        DEBUG="false",
        SECRET_KEY=env.get("SECRET_KEY", "bench-only-secret-key-" + "x" * 40),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        # Measuring throughput, not the rate limits: lift them for this run only.
        API_THROTTLE_ANON="100000000/min",
        API_THROTTLE_USER="100000000/min",
        VOTE_THROTTLE="100000000/min",
        LOG_LEVEL="WARNING",
        VAR_DIR=env.get("VAR_DIR", str(ROOT / "var" / "bench")),
    )
    env["BENCH_GC_DIR"] = str(gc_dir(env))
    return env


def gc_dir(env: Mapping[str, str]) -> Path:
    """Where the workers note their garbage collections (bench/gunicorn_gc.py)."""
    return Path(env.get("VAR_DIR", str(ROOT / "var" / "bench"))) / "gc"


def gc_pauses(windows: list[tuple[float, float]]) -> dict[str, float]:
    """The workers' full collections (generation 2) that began in `windows`, and the
    longest collection of any generation there: its pause and the CPU time it used, in ms."""
    full, longest, longest_cpu = 0, 0.0, 0.0
    for log in gc_dir(os.environ).glob("*.log"):
        for line in log.read_text().splitlines():
            begun, took, worked, generation = line.split()
            if any(start <= float(begun) <= end for start, end in windows):
                full += generation == "2"
                longest = max(longest, float(took) * 1000)
                longest_cpu = max(longest_cpu, float(worked) * 1000)
    return {"gc_full": full, "gc_longest_ms": longest, "gc_longest_cpu_ms": longest_cpu}


# What browsers and HTTP libraries (huggingface_hub's included) send; --identity leaves
# it out, as a client that takes no compression.
ACCEPT_ENCODING = {"Accept-Encoding": "gzip, deflate"}
FORWARDED_HTTPS = {"X-Forwarded-Proto": "https"}  # production redirects plain HTTP
HEADERS = {**FORWARDED_HTTPS, **ACCEPT_ENCODING}


def wrk(
    url: str, *, duration: int, connections: int, headers: dict[str, str] | None = None
) -> dict[str, float]:
    """Run wrk with HEADERS and `headers`; requests/s and latency percentiles in ms."""
    sent = {**HEADERS, **(headers or {})}
    options = [arg for name, value in sent.items() for arg in ("-H", f"{name}: {value}")]
    output = subprocess.run(
        [
            "wrk",
            f"-t{min(connections, 2)}",
            f"-c{connections}",
            f"-d{duration}s",
            "--latency",
            *options,
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if "Non-2xx or 3xx responses" in output:
        raise SystemExit(f"{url} answered with errors:\n{output}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))

    def percentile(label: str) -> float:
        value, unit = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)", output).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return {"rps": rps, "p50": percentile("50"), "p99": percentile("99")}


def start_gunicorn(env: dict[str, str], *, workers: int, port: int) -> subprocess.Popen[bytes]:
    """Start gunicorn with `env` and return once it answers the baseline over plain HTTP."""
    if folder := env.get("BENCH_GC_DIR"):
        Path(folder).mkdir(parents=True, exist_ok=True)
        for old in Path(folder).glob("*.log"):
            old.unlink()
    # A server already on the port would answer the probe below and be measured instead.
    with socket.socket() as probe_socket:
        if probe_socket.connect_ex(("127.0.0.1", port)) == 0:
            raise SystemExit(f"port {port} is in use already: choose another with --port")
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "config.wsgi",
            f"--workers={workers}",
            f"--bind=127.0.0.1:{port}",
            "--log-level=warning",
            f"--config={ROOT / 'bench' / 'gunicorn_gc.py'}",
        ],
        cwd=ROOT,
        env=env,
    )
    # Production settings redirect plain HTTP: say the request came through a TLS proxy.
    probe = urllib.request.Request(f"http://127.0.0.1:{port}{BASELINE}", headers=FORWARDED_HTTPS)
    for _ in range(150):
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}")
        try:
            urllib.request.urlopen(probe, timeout=1)  # noqa: S310
            return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("gunicorn did not answer in 30 s")


def measure(
    base: str,
    path: str,
    *,
    duration: int,
    connections: int,
    rounds: int,
    headers: dict[str, str] | None = None,
    voter: Voter | None = None,
) -> dict[str, float]:
    """The target and the baseline in alternation, `rounds` times each, with the same
    headers; means of both, and with a voter its rate during these runs."""
    runs: dict[str, list[dict[str, float]]] = {"baseline": [], "target": []}
    windows: list[tuple[float, float]] = []
    targets: list[tuple[float, float]] = []
    for _ in range(rounds):
        for name, url in (("baseline", BASELINE), ("target", path)):
            started = time.monotonic()
            runs[name].append(
                wrk(f"{base}{url}", duration=duration, connections=connections, headers=headers)
            )
            windows.append((started, time.monotonic()))
            if name == "target":
                targets.append(windows[-1])

    def mean(name: str, key: str) -> float:
        return statistics.fmean(run[key] for run in runs[name])

    result = {
        "rps": mean("target", "rps"),
        "p50": mean("target", "p50"),
        "p99": mean("target", "p99"),
        "baseline_rps": mean("baseline", "rps"),
        "ratio": mean("target", "rps") / mean("baseline", "rps"),
        **gc_pauses(targets),
    }
    if voter is not None:
        votes = sum(voter.votes_between(start, end) for start, end in windows)
        seconds = sum(end - start for start, end in windows)
        result["votes_per_s"] = votes / seconds
        # Each run can miss the vote answered just past its end: allowed for, and no more.
        result["votes_kept_up"] = votes + len(windows) >= MIN_VOTES_PER_S * seconds
    return result


def body_sizes(url: str, headers: dict[str, str] | None = None) -> tuple[int, int]:
    """The answer's size as sent (compressed when the client asks for it) and as read."""
    extra = headers or {}
    with httpx.stream(
        "GET", url, headers={"Accept-Encoding": "identity", **HEADERS, **extra}, timeout=30
    ) as response:
        response.raise_for_status()
        sent = sum(len(chunk) for chunk in response.iter_raw())
    response = httpx.get(url, headers={**FORWARDED_HTTPS, **extra}, timeout=30)
    return sent, len(response.content)


# --- the member --------------------------------------------------------------------------


def set_cookies(response: httpx.Response) -> dict[str, str]:
    """The cookies a response sets, read from its Set-Cookie headers: production cookies are
    Secure, so an HTTP client would keep them to itself over plain http."""
    jar: SimpleCookie = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        jar.load(header)
    return {name: morsel.value for name, morsel in jar.items()}


def log_in(base: str, reader: Reader) -> str:
    """Sign in through allauth's login form, as a browser does; the Cookie header to send."""
    from django.conf import settings
    from django.urls import reverse

    login = reverse("account_login")
    session_name, csrf_name = settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME
    form = httpx.get(f"{base}{login}", headers=FORWARDED_HTTPS, timeout=30)
    field = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    cookies = set_cookies(form)
    if form.status_code != 200 or field is None or csrf_name not in cookies:
        raise SystemExit(
            f"GET {login} answered {form.status_code} without a CSRF token and cookie: "
            "cannot log in the bench member"
        )
    # Django checks the origin of a secure POST: the one the browser would name.
    origin = f"https://{urlsplit(base).netloc}"
    answer = httpx.post(
        f"{base}{login}",
        data={
            "login": reader.email,
            "password": reader.password,
            "csrfmiddlewaretoken": field.group(1),
        },
        headers={
            **FORWARDED_HTTPS,
            "Cookie": f"{csrf_name}={cookies[csrf_name]}",
            "Origin": origin,
            "Referer": f"{origin}{login}",
        },
        timeout=30,
    )
    cookies.update(set_cookies(answer))
    where = answer.headers.get("location", "")
    if "confirm-email" in where:
        raise SystemExit(f"{reader.email} is not verified: the login asks for a confirmation")
    if answer.status_code != 302 or session_name not in cookies or where.startswith(login):
        errors = re.findall(r'role="alert"[^>]*>(.*?)<', answer.text, re.DOTALL)
        raise SystemExit(
            f"logging in as {reader.email} failed: HTTP {answer.status_code}"
            + (f", to {where}" if where else "")
            + (f": {' '.join(e.strip() for e in errors)}" if errors else "")
        )
    return f"{session_name}={cookies[session_name]}; {csrf_name}={cookies[csrf_name]}"


def upvote(base: str, token: str, arxiv_ids: list[str]) -> None:
    """Upvote the papers through the API, as the token's member (idempotent)."""
    headers = {**FORWARDED_HTTPS, "Authorization": f"Bearer {token}"}
    for arxiv_id in arxiv_ids:
        path = f"/api/papers/{arxiv_id}/upvote"
        response = httpx.post(f"{base}{path}", headers=headers, timeout=30)
        if response.status_code != 200 or response.json().get("upvoted") is not True:
            raise SystemExit(f"POST {path} answered {response.status_code}: {response.text[:200]}")


def member_page_problems(body: str, *, marked: bool) -> list[str]:
    """What makes a page not the signed-in member's (empty when it is)."""
    problems = []
    if LOGOUT_MARK not in body:
        problems.append("no Log out button")
    if LOGIN_LINK_MARK in body:
        problems.append("login links, as a visitor sees")
    if UPVOTE_FORM_MARK not in body:
        problems.append("no upvote form")
    if marked and UPVOTED_MARK not in body:
        problems.append("the member's own upvotes are not marked")
    return problems


def check_member_pages(base: str, endpoints: dict[str, str], cookie: str) -> None:
    """Exit unless every page answers as the member's own."""
    for name, path in endpoints.items():
        response = httpx.get(
            f"{base}{path}", headers={**FORWARDED_HTTPS, "Cookie": cookie}, timeout=60
        )
        problems = (
            [f"HTTP {response.status_code}"]
            if response.status_code != 200
            else member_page_problems(response.text, marked=name in MARKED_ENDPOINTS)
        )
        if problems:
            raise SystemExit(f"{name} ({path}) is not the member's page: {', '.join(problems)}")


# --- the phases --------------------------------------------------------------------------


def parse_phases(value: str) -> list[Phase]:
    """--phases: names separated by commas, run in PHASES' order."""
    names = {name.strip() for name in value.split(",") if name.strip()}
    known = {phase.name for phase in PHASES}
    if unknown := names - known:
        raise argparse.ArgumentTypeError(
            f"unknown phase {', '.join(sorted(unknown))}: choose from {', '.join(sorted(known))}"
        )
    if not names:
        raise argparse.ArgumentTypeError("no phase given")
    return [phase for phase in PHASES if phase.name in names]


def header_line(phase: Phase, *, size_reference: bool) -> str:
    extra = f" {'same-size ratio':>15}" if size_reference else ""
    extra += f" {'votes/s':>7}" if phase.votes else ""
    return (
        f"{'endpoint':<18} {'KiB':>6} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'base/s':>7} {'ratio':>6}{extra} {'full GCs':>8} {'GC ms (CPU)':>14}"
    )


def result_line(result: dict[str, Any], *, size_reference: bool) -> str:
    extra = f" {result['same_size_ratio']:>15.2f}" if size_reference else ""
    extra += f" {result['votes_per_s']:>7.1f}" if "votes_per_s" in result else ""
    return (
        f"{result['endpoint']:<18} {result['bytes'] / 1024:>6.0f} {result['rps']:>7.0f} "
        f"{result['p50']:>7.2f} {result['p99']:>7.2f} {result['baseline_rps']:>7.0f} "
        f"{result['ratio']:>6.2f}{extra} {result['gc_full']:>8} "
        f"{result['gc_longest_ms']:>6.1f} ({result['gc_longest_cpu_ms']:>5.1f})"
    )


def run_phase(
    phase: Phase,
    base: str,
    endpoints: dict[str, str],
    *,
    options: dict[str, int],
    cookie: str | None,
    voter: Voter | None,
    size_reference: bool,
) -> dict[str, Any]:
    """Every endpoint of the phase against the phase's baseline; the phase's figures."""
    headers = {"Cookie": cookie} if cookie else {}
    print(f"\n== {phase.title} ({phase.name})", flush=True)
    if phase.member:
        check_member_pages(base, endpoints, cookie or "")
        print(f"every page is {READER.username}'s: Log out button, upvote forms", flush=True)
    if voter is not None:
        voter.start()
    results = []
    try:
        for path in (BASELINE, *endpoints.values()):  # warm caches and workers
            wrk(f"{base}{path}", duration=2, connections=options["connections"], headers=headers)
        print(header_line(phase, size_reference=size_reference), flush=True)
        for name, path in endpoints.items():
            size, uncompressed = body_sizes(f"{base}{path}", headers)
            result: dict[str, Any] = {
                "endpoint": name,
                "path": path,
                "bytes": size,
                "bytes_uncompressed": uncompressed,
            }
            result.update(measure(base, path, headers=headers, voter=voter, **options))
            if size_reference:
                reference = measure(base, f"/bench/bytes/{size}", headers=headers, **options)
                result["same_size_ratio"] = reference["ratio"]
            print(result_line(result, size_reference=size_reference), flush=True)
            if voter is not None:
                problems = []
                if not result.pop("votes_kept_up"):
                    rate = result["votes_per_s"]
                    problems.append(f"{rate:.1f} votes/s, under {MIN_VOTES_PER_S}")
                if errors := voter.error_kinds():
                    problems.append(f"errors {errors}")
                if problems:  # the figures would not be those of a site under votes
                    raise SystemExit(
                        f"{phase.title}: the voter failed during {name}'s runs: "
                        + "; ".join(problems)
                    )
            results.append(result)
    finally:
        report = voter.stop() if voter is not None else None
    figures: dict[str, Any] = {
        "phase": phase.name,
        "title": phase.title,
        "member": phase.member,
        "votes": phase.votes,
        "endpoints": results,
    }
    if phase.member:
        figures["signed_in_as"] = READER.username
    if report is not None:
        lowest = min((r["votes_per_s"] for r in results), default=0.0)
        print(
            f"voter: {report.votes} votes in {report.seconds:.0f} s, {report.votes_per_s:.1f}/s "
            f"(lowest during an endpoint's runs {lowest:.1f}/s), {report.errors} errors, "
            f"p50 {report.p50_ms:.1f} ms, p99 {report.p99_ms:.1f} ms, "
            f"CPU {report.cpu_ms_per_vote:.2f} ms per vote",
            flush=True,
        )
        if report.votes_per_s < MIN_VOTES_PER_S or report.errors:
            raise SystemExit(
                f"{phase.title}: the voter cast {report.votes_per_s:.1f} votes/s (needs "
                f"{MIN_VOTES_PER_S:g}) with {report.errors} errors {report.error_kinds}"
            )
        figures["voter"] = {**report.as_dict(), "lowest_votes_per_s": round(lowest, 2)}
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=2, help="baseline/target alternations")
    parser.add_argument("--connections", type=int, default=10, help="wrk's default is 10")
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 1) * 2 + 1)
    parser.add_argument("--port", type=int, default=8901)
    parser.add_argument(
        "--all",
        action="store_true",
        help="every endpoint of the budget on the database's busiest day (after generate_data)",
    )
    parser.add_argument(
        "--phases",
        type=parse_phases,
        default=list(PHASES),
        help="comma-separated, from: " + ", ".join(phase.name for phase in PHASES) + " (all)",
    )
    parser.add_argument(
        "--no-size-reference",
        dest="size_reference",
        action="store_false",
        help="skip the fixed answer of each endpoint's size (anonymous quiet phase only)",
    )
    parser.add_argument(
        "--identity",
        action="store_true",
        help="do not ask for compressed answers (by default wrk sends Accept-Encoding: gzip)",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if args.identity:
        for name in ACCEPT_ENCODING:
            HEADERS.pop(name)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk")
    phases: list[Phase] = args.phases

    env = server_env(args.port)
    python = sys.executable
    print("migrating and loading the demo papers ...", flush=True)
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([python, "manage.py", "load_demo"], cwd=ROOT, env=env, check=True)
    subprocess.run(
        [python, "manage.py", "collectstatic", "--no-input", "-v0"], cwd=ROOT, env=env, check=True
    )
    setup_django()
    # An earlier run's votes would move the day's ranking: every run starts from the same one.
    remove_members(VOTER_PREFIX)
    remove_members(READER.username)
    chosen = targets(every_endpoint=args.all)
    members = any(phase.member for phase in phases)
    tokens: list[str] = []
    reader_token = ""
    if members:
        print(f"preparing {READER.username} ...", flush=True)
        reader_token = prepare_reader(READER)
    if any(phase.votes for phase in phases):
        print(f"creating {VOTER_MEMBERS} voters ...", flush=True)
        tokens = create_token_members(VOTER_PREFIX, VOTER_MEMBERS, label="http benchmark")
    print(f"starting gunicorn with {args.workers} workers ...", flush=True)
    server = start_gunicorn(env, workers=args.workers, port=args.port)
    base = f"http://127.0.0.1:{args.port}"
    options = {"duration": args.duration, "connections": args.connections, "rounds": args.rounds}
    figures = []
    try:
        cookie = None
        if members:
            # Through the API, as members vote: whatever a vote updates, these do too.
            upvote(base, reader_token, chosen.day_papers[:READER_UPVOTES])
            cookie = log_in(base, READER)
            print(
                f"logged in as {READER.email} through the login form; it has upvoted "
                f"{', '.join(chosen.day_papers[:READER_UPVOTES])}",
                flush=True,
            )
        for phase in phases:
            voter = (
                Voter(base, tokens, chosen.day_papers, rate=VOTES_PER_S, headers=FORWARDED_HTTPS)
                if phase.votes
                else None
            )
            figures.append(
                run_phase(
                    phase,
                    base,
                    chosen.for_phase(phase),
                    options=options,
                    cookie=cookie if phase.member else None,
                    voter=voter,
                    size_reference=args.size_reference and phase.name == "anonymous",
                )
            )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "workers": args.workers,
                    **options,
                    "headers": HEADERS,
                    "votes_per_s_target": VOTES_PER_S,
                    "voted_papers": chosen.day_papers,
                    "reader_upvotes": chosen.day_papers[:READER_UPVOTES],
                    "phases": figures,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
