"""Lighthouse (mobile, Debian's Chromium) on every kind of page: performance and
accessibility scores, as a user's browser sees them.

Serves the demo data (and a discussion on the demo paper) with production settings and
gunicorn from a scratch SQLite database, then runs Lighthouse 12 on each page, as a visitor
and, for members' pages, signed in. Needs Node and `npm i -E lighthouse@12.2.3` (the
`LIGHTHOUSE` variable names the binary; default `node_modules/.bin/lighthouse`) and
Chromium at CHROME_PATH (default /usr/bin/chromium).

    .venv/bin/python -m bench.lighthouse [--out docs/LIGHTHOUSE.md]

Prints a line a page, writes the table to `--out` and exits non-zero when a page scores
under PERFORMANCE_TARGET or ACCESSIBILITY_TARGET.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.http import FORWARDED_HTTPS, ROOT, server_env, start_gunicorn

LIGHTHOUSE_VERSION = "12.2.3"
PERFORMANCE_TARGET = 0.9
ACCESSIBILITY_TARGET = 0.95
DEMO_PAPER = "2606.13392"
VISITOR_PAGES = [
    "/",
    "/papers/week/2026-W24",
    "/papers/month/2026-06",
    "/papers/trending",
    f"/papers/{DEMO_PAPER}",
    "/papers/search?q=agents",
    "/discussions",
    "/u/lighthouse-reader",
    "/collections/lighthouse-reader/reading-club",
    "/accounts/login/",
    "/accounts/signup/",
    "/digests/",
]
MEMBER_PAGES = [
    "/",
    f"/papers/{DEMO_PAPER}",
    "/accounts/profile/",
    "/papers/submit",
    "/collections/lighthouse-reader/reading-club",
    f"/papers/{DEMO_PAPER}/save",
]
CHROME_FLAGS = (
    "--headless --no-sandbox --disable-gpu --disable-background-networking "
    "--disable-component-update --no-first-run"
)


def prepare(env: dict[str, str]) -> str:
    """Demo papers, a member, a discussion on the demo paper, a public collection; the
    member's session cookie."""
    python = sys.executable
    for command in (["migrate", "-v0"], ["load_demo"], ["collectstatic", "--no-input", "-v0"]):
        subprocess.run([python, "manage.py", *command], cwd=ROOT, env=env, check=True)
    script = f"""
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from discussions.services import comment_post
from papers.models import Paper

User = get_user_model()
reader, _ = User.objects.get_or_create(username="lighthouse-reader", email="reader@example.org")
other, _ = User.objects.get_or_create(username="lighthouse-other", email="other@example.org")
paper = Paper.objects.get(arxiv_id="{DEMO_PAPER}")
if not paper.comments.exists():
    question = comment_post(
        user=reader, paper=paper, body="Does **sparse** attention keep $O(n)$ memory?"
    )
    comment_post(user=other, paper=paper, body="Yes. @lighthouse-reader", parent=question)
    comment_post(user=other, paper=paper, body="> Table 2\\n\\nHow were the baselines tuned?")
from readinglists.models import Collection
from readinglists.services import collection_create, item_add
if not Collection.objects.exists():
    club = collection_create(owner=reader, name="Reading club", visibility="public")
    for listed in Paper.objects.order_by("-source_upvotes")[:5]:
        item_add(user=reader, collection=club, paper=listed, note="Read section 3 first.")
client = Client()
client.force_login(reader)
print(settings.SESSION_COOKIE_NAME + "=" + client.cookies[settings.SESSION_COOKIE_NAME].value)
"""
    shell = subprocess.run(
        [python, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env={**env, "ALLOWED_HOSTS": "testserver,127.0.0.1"},
        check=True,
        capture_output=True,
        text=True,
    )
    return shell.stdout.strip().splitlines()[-1]


def lighthouse(url: str, headers: dict[str, str], out: Path) -> dict[str, float]:
    binary = os.environ.get("LIGHTHOUSE", str(ROOT / "node_modules" / ".bin" / "lighthouse"))
    command = [
        binary,
        url,
        "--quiet",
        "--form-factor=mobile",
        "--only-categories=performance,accessibility",
        f"--chrome-flags={CHROME_FLAGS}",
        f"--extra-headers={json.dumps(headers)}",
        "--output=json",
        f"--output-path={out}",
    ]
    chrome = {**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH", "/usr/bin/chromium")}
    for attempt in range(3):  # Lighthouse now and then loses the trace (NO_NAVSTART): again
        if subprocess.run(command, env=chrome).returncode == 0:
            break
        print(f"  Lighthouse failed on {url} (attempt {attempt + 1} of 3)", flush=True)
    else:
        raise SystemExit(f"Lighthouse failed three times on {url}")
    report = json.loads(out.read_text())
    if report["finalDisplayedUrl"] != url:  # a member's page sent to the login form, say
        raise SystemExit(f"{url} ended at {report['finalDisplayedUrl']}")
    audits = report["audits"]
    return {
        "performance": report["categories"]["performance"]["score"],
        "accessibility": report["categories"]["accessibility"]["score"],
        "cls": audits["cumulative-layout-shift"]["numericValue"],
        "lcp_ms": audits["largest-contentful-paint"]["numericValue"],
        "failed": [
            key
            for key, audit in audits.items()
            if audit.get("score") is not None
            and audit["score"] < 1
            and audit.get("scoreDisplayMode") == "binary"
        ],
    }


def report(results: list[dict[str, Any]]) -> str:
    lines = [
        "# Lighthouse",
        "",
        f"Written by `python -m bench.lighthouse --out docs/LIGHTHOUSE.md` on "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC: Lighthouse {LIGHTHOUSE_VERSION}, mobile "
        "(its default throttling), Debian's Chromium, the demo data with a discussion on the "
        f"demo paper, production settings behind gunicorn. Targets: performance ≥ "
        f"{PERFORMANCE_TARGET}, accessibility ≥ {ACCESSIBILITY_TARGET}.",
        "",
        "| audience | page | performance | accessibility | CLS | LCP ms |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['audience']} | `{r['path']}` | {r['performance']:.2f} | "
        f"{r['accessibility']:.2f} | {r['cls']:.3f} | {r['lcp_ms']:,.0f} |"
        for r in results
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8095)
    parser.add_argument("--out", type=Path, help="write the results as a Markdown table here")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="lighthouse-"))
    env = server_env(args.port)
    env.pop("DATABASE_URL", None)  # a SQLite database of its own, in VAR_DIR
    env.pop("REDIS_URL", None)
    env["VAR_DIR"] = str(scratch)
    cookie = prepare(env)
    server = start_gunicorn(env, workers=2, port=args.port)
    results: list[dict[str, Any]] = []
    try:
        runs = [("visitor", path, {}) for path in VISITOR_PAGES]
        runs += [("member", path, {"Cookie": cookie}) for path in MEMBER_PAGES]
        for audience, path, headers in runs:
            url = f"http://127.0.0.1:{args.port}{path}"
            scores = lighthouse(url, {**FORWARDED_HTTPS, **headers}, scratch / "report.json")
            results.append({"audience": audience, "path": path, **scores})
            print(
                f"{audience:8} {path:32} performance {scores['performance']:.2f}  "
                f"accessibility {scores['accessibility']:.2f}  CLS {scores['cls']:.3f}  "
                f"LCP {scores['lcp_ms']:.0f} ms  {' '.join(scores['failed'])}",
                flush=True,
            )
    finally:
        server.terminate()
        server.wait()
    if args.out:
        args.out.write_text(report(results))
    low = [
        r
        for r in results
        if r["performance"] < PERFORMANCE_TARGET or r["accessibility"] < ACCESSIBILITY_TARGET
    ]
    if low:
        raise SystemExit(f"{len(low)} pages under the targets")


if __name__ == "__main__":
    main()
