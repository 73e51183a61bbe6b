"""HTTP throughput of pages and API endpoints against a trivial view, in one run.

Starts gunicorn with production settings (DEBUG off, Redis cache when REDIS_URL is set),
loads the demo papers, then runs wrk against the baseline (`/healthz/live`, a fixed
response through the same middleware) and each target in turn, and prints requests/s,
p50, p99 and the ratio to the baseline. Needs `wrk` (apt-get install wrk).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dailypapers_bench \\
    REDIS_URL=redis://127.0.0.1:6379/3 .venv/bin/python -m bench.http --duration 10
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

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


def wrk(url: str, *, duration: int, connections: int) -> dict[str, float]:
    """Run wrk; requests/s and latency percentiles in ms."""
    output = subprocess.run(
        [
            "wrk",
            f"-t{min(connections, 2)}",
            f"-c{connections}",
            f"-d{duration}s",
            "--latency",
            "-H",
            "X-Forwarded-Proto: https",  # production settings redirect plain HTTP
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=10, help="wrk's default is 10")
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 1) * 2 + 1)
    parser.add_argument("--port", type=int, default=8901)
    parser.add_argument(
        "--all",
        action="store_true",
        help="every endpoint of the budget on the database's busiest day (after generate_data)",
    )
    args = parser.parse_args()
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
    try:
        for path in (BASELINE, *targets.values()):  # warm caches and workers
            wrk(f"{base}{path}", duration=2, connections=args.connections)
        print(f"{'endpoint':<18} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'ratio':>6}")
        for name, path in targets.items():
            baseline = wrk(
                f"{base}{BASELINE}", duration=args.duration, connections=args.connections
            )
            target = wrk(f"{base}{path}", duration=args.duration, connections=args.connections)
            print(
                f"{'baseline':<18} {baseline['rps']:>8.0f} {baseline['p50']:>7.2f} "
                f"{baseline['p99']:>7.2f} {'1.00':>6}"
            )
            print(
                f"{name:<18} {target['rps']:>8.0f} {target['p50']:>7.2f} {target['p99']:>7.2f} "
                f"{target['rps'] / baseline['rps']:>6.2f}",
                flush=True,
            )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
