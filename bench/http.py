"""HTTP throughput of pages and API endpoints against a trivial view, in one run.

Starts gunicorn with production settings (DEBUG off, Redis cache when REDIS_URL is set),
loads the demo papers, then runs wrk against the baseline (`/healthz/live`, a fixed
response through the same middleware) and each target in alternation, and prints
requests/s, p50, p99 and the ratio to the baseline. Each target is also compared with a
fixed answer of its own size (`/bench/bytes/<n>`, see bench/settings.py): the ratio that
the size alone allows. Needs `wrk` (apt-get install wrk).

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
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "/healthz/live"
DEMO_TARGETS = {
    "api daily_papers": "/api/daily_papers?date=2026-06-12",
    "daily feed": "/papers/date/2026-06-12",
    "paper page": "/papers/2606.13392",
}


def database_targets() -> dict[str, str]:
    """Every endpoint of the performance budget, on the busiest day of the database."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db.models import Count

    from papers.models import Paper
    from papers.periods import period_of

    busiest = (Paper.objects.values("listed_on").annotate(n=Count("id")).order_by("-n").first())[
        "listed_on"
    ]
    top = Paper.objects.filter(listed_on=busiest).order_by("-upvote_count").first()
    return {
        "busiest day": f"/papers/date/{busiest}",
        "its week": f"/papers/week/{period_of('week', busiest).slug}",
        "its month": f"/papers/month/{busiest:%Y-%m}",
        "trending": "/papers/trending",
        "paper page": f"/papers/{top.arxiv_id}",
        "search common": "/papers/search?q=learning",
        "search rare": "/papers/search?q=adversarial+spectral+kernel+calibration",
        "api daily_papers": f"/api/daily_papers?date={busiest}",
        "api search": "/api/papers/search?q=learning",
    }


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
        LOG_LEVEL="WARNING",
        VAR_DIR=env.get("VAR_DIR", str(ROOT / "var" / "bench")),
    )
    return env


# What browsers and HTTP libraries (huggingface_hub's included) send; --identity leaves
# it out, as a client that takes no compression.
ACCEPT_ENCODING = {"Accept-Encoding": "gzip, deflate"}
HEADERS = {"X-Forwarded-Proto": "https", **ACCEPT_ENCODING}  # production redirects plain HTTP


def wrk(url: str, *, duration: int, connections: int) -> dict[str, float]:
    """Run wrk; requests/s and latency percentiles in ms."""
    headers = [arg for name, value in HEADERS.items() for arg in ("-H", f"{name}: {value}")]
    output = subprocess.run(
        [
            "wrk",
            f"-t{min(connections, 2)}",
            f"-c{connections}",
            f"-d{duration}s",
            "--latency",
            *headers,
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
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "config.wsgi",
            f"--workers={workers}",
            f"--bind=127.0.0.1:{port}",
            "--log-level=warning",
        ],
        cwd=ROOT,
        env=env,
    )
    # Production settings redirect plain HTTP: say the request came through a TLS proxy.
    probe = urllib.request.Request(
        f"http://127.0.0.1:{port}{BASELINE}", headers={"X-Forwarded-Proto": "https"}
    )
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
    base: str, path: str, *, duration: int, connections: int, rounds: int
) -> dict[str, float]:
    """The target and the baseline in alternation, `rounds` times each; means of both."""
    runs: dict[str, list[dict[str, float]]] = {"baseline": [], "target": []}
    for _ in range(rounds):
        for name, url in (("baseline", BASELINE), ("target", path)):
            runs[name].append(wrk(f"{base}{url}", duration=duration, connections=connections))

    def mean(name: str, key: str) -> float:
        return statistics.fmean(run[key] for run in runs[name])

    return {
        "rps": mean("target", "rps"),
        "p50": mean("target", "p50"),
        "p99": mean("target", "p99"),
        "baseline_rps": mean("baseline", "rps"),
        "ratio": mean("target", "rps") / mean("baseline", "rps"),
    }


def body_sizes(url: str) -> tuple[int, int]:
    """The answer's size as sent (compressed when the client asks for it) and as read."""
    logging.getLogger("httpx").setLevel(logging.WARNING)
    headers = {"Accept-Encoding": "identity", **HEADERS}
    with httpx.stream("GET", url, headers=headers, timeout=30) as response:
        response.raise_for_status()
        sent = sum(len(chunk) for chunk in response.iter_raw())
    response = httpx.get(url, headers={"X-Forwarded-Proto": "https"}, timeout=30)
    return sent, len(response.content)


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
        "--no-size-reference",
        dest="size_reference",
        action="store_false",
        help="skip the fixed answer of each endpoint's size",
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

    env = server_env(args.port)
    python = sys.executable
    print("migrating and loading the demo papers ...", flush=True)
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([python, "manage.py", "load_demo"], cwd=ROOT, env=env, check=True)
    subprocess.run(
        [python, "manage.py", "collectstatic", "--no-input", "-v0"], cwd=ROOT, env=env, check=True
    )
    targets = database_targets() if args.all else DEMO_TARGETS
    print(f"starting gunicorn with {args.workers} workers ...", flush=True)
    server = start_gunicorn(env, workers=args.workers, port=args.port)
    base = f"http://127.0.0.1:{args.port}"
    options = {"duration": args.duration, "connections": args.connections, "rounds": args.rounds}
    results = []
    try:
        for path in (BASELINE, *targets.values()):  # warm caches and workers
            wrk(f"{base}{path}", duration=2, connections=args.connections)
        print(
            f"{'endpoint':<18} {'KiB':>6} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} "
            f"{'base/s':>7} {'ratio':>6} {'same-size ratio':>15}",
            flush=True,
        )
        for name, path in targets.items():
            size, uncompressed = body_sizes(f"{base}{path}")
            result = {
                "endpoint": name,
                "path": path,
                "bytes": size,
                "bytes_uncompressed": uncompressed,
            }
            result.update(measure(base, path, **options))
            if args.size_reference:
                reference = measure(base, f"/bench/bytes/{size}", **options)
                result["same_size_ratio"] = reference["ratio"]
            results.append(result)
            same = f"{result['same_size_ratio']:.2f}" if args.size_reference else "-"
            print(
                f"{name:<18} {size / 1024:>6.0f} {result['rps']:>7.0f} {result['p50']:>7.2f} "
                f"{result['p99']:>7.2f} {result['baseline_rps']:>7.0f} {result['ratio']:>6.2f} "
                f"{same:>15}",
                flush=True,
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
                    "endpoints": results,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
