"""Discussions under load: comments posted through the API by many members at once on a
few hot papers, then the count checked against the rows; and the paper page with 500
comments against the trivial view, for visitors and for a signed-in member.

Creates `--clients` members (talk-<i>, one API token each; an earlier run's members and
their comments are removed first), starts gunicorn with production settings (rate limits
lifted for the run), and drives it with wrk: one connection per member, each posting
`{"comment": ...}` to `/api/papers/<id>/comment` on one of `--papers` hot papers (the most
upvoted of the busiest day) for `--seconds`. Then the next most upvoted paper gets exactly
500 comments (a third of them replies) and its page is measured with wrk, alternating with the
baseline `/healthz/live`, as a visitor and as bench.http's member (signed in through the
login form).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dailypapers_bench \\
    REDIS_URL=redis://127.0.0.1:6379/3 .venv/bin/python -m bench.discussions \\
        --clients 100 --papers 5 --seconds 20 --json var/discussions.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.http import BASELINE, READER, ROOT, log_in, server_env, start_gunicorn, wrk
from bench.members import create_token_members, prepare_reader
from bench.upvote_storm import WRK_MEMBERS

USERNAME_PREFIX = "talk-"
PAGE_COMMENTS = 500

WRK_SCRIPT = (
    WRK_MEMBERS
    + r"""
function init(args)
  member(args)
  headers = {Authorization = "Bearer " .. token, ["X-Forwarded-Proto"] = "https",
             ["Content-Type"] = "application/json"}
  ok, bad, statuses, sent = 0, 0, {}, 0
end

function request()
  local id = papers[math.random(#papers)]
  sent = sent + 1
  local body = string.format('{"comment": "Comment %d from member %d: does it hold at $n^2$?"}',
    sent, index)
  return wrk.format("POST", "/api/papers/" .. id .. "/comment", headers, body)
end

function response(status, headers, body)
  if status == 200 and string.find(body, '"newMessage"', 1, true) then
    ok = ok + 1
  else
    bad = bad + 1
    statuses[tostring(status)] = (statuses[tostring(status)] or 0) + 1
  end
end

function done(summary, latency, requests)
  local ok_total, bad_total = 0, 0
  for _, thread in ipairs(threads) do
    ok_total = ok_total + thread:get("ok")
    bad_total = bad_total + thread:get("bad")
  end
  io.write(string.format(
    'RESULT {"duration_us": %d, "ok": %d, "bad": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.duration, ok_total, bad_total, latency:percentile(50), latency:percentile(99)))
end
"""
)


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def remove_talkers() -> None:
    """Earlier runs' members and their comments, the counts of their papers recounted."""
    from django.db import transaction
    from django.db.models import Count, Q

    from accounts.models import User
    from discussions.models import Comment
    from papers.models import Paper

    with transaction.atomic():
        touched = set(
            Comment.objects.filter(author__username__startswith=USERNAME_PREFIX).values_list(
                "paper_id", flat=True
            )
        )
        User.objects.filter(username__startswith=USERNAME_PREFIX).delete()
        shown = Q(comments__deleted_at=None, comments__hidden_reason="")
        for paper in Paper.objects.filter(pk__in=touched).annotate(n=Count("comments", shown)):
            Paper.objects.filter(pk=paper.pk).update(comment_count=paper.n)


def hot_papers(count: int) -> list[Any]:
    from django.db.models import Count

    from papers.models import Paper

    busiest = (
        Paper.objects.visible().values("listed_on").annotate(n=Count("id")).order_by("-n").first()
    )
    assert busiest is not None, "no papers: run bench.generate_data first"
    return list(Paper.objects.visible().filter(listed_on=busiest["listed_on"]).by_votes()[:count])


def drift(papers: list[Any]) -> int:
    """Papers whose comment_count differs from their shown comments."""
    from discussions.models import Comment
    from papers.models import Paper

    off = 0
    for paper in Paper.objects.filter(pk__in=[p.pk for p in papers]):
        if paper.comment_count != Comment.objects.shown().filter(paper=paper).count():
            off += 1
    return off


def storm(args: argparse.Namespace, port: int, papers: list[Any]) -> dict[str, Any]:
    tokens = create_token_members(USERNAME_PREFIX, args.clients, label="bench discussions")
    with tempfile.TemporaryDirectory() as scratch:
        token_file = Path(scratch) / "tokens"
        token_file.write_text("\n".join(tokens) + "\n")
        script = Path(scratch) / "storm.lua"
        script.write_text(WRK_SCRIPT)
        ids = ",".join(p.arxiv_id for p in papers)
        print(f"storm: {args.clients} members comment on {len(papers)} papers for {args.seconds} s")
        output = subprocess.run(
            [
                "wrk",
                f"-t{args.clients}",
                f"-c{args.clients}",
                f"-d{args.seconds}s",
                "--latency",
                "-s",
                str(script),
                f"http://127.0.0.1:{port}",
                "--",
                str(token_file),
                ids,
                "7",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    result = json.loads(re.search(r"^RESULT (.*)$", output, re.M).group(1))
    seconds = result["duration_us"] / 1e6
    found = {
        "clients": args.clients,
        "papers": len(papers),
        "seconds": round(seconds, 1),
        "comments": result["ok"],
        "comments_per_s": result["ok"] / seconds,
        "errors": result["bad"],
        "p50_ms": result["p50_us"] / 1000,
        "p99_ms": result["p99_us"] / 1000,
    }
    print(
        f"  {found['comments']:,} comments in {seconds:.1f} s: {found['comments_per_s']:.0f}/s, "
        f"{found['errors']} errors, p50 {found['p50_ms']:.1f} ms, p99 {found['p99_ms']:.1f} ms"
    )
    return found


def fill_page(paper: Any) -> None:
    """Exactly PAGE_COMMENTS shown comments on the paper, a third of them replies."""
    from django.db import transaction

    from accounts.models import User
    from discussions.models import Comment
    from discussions.rendering import render_markdown
    from papers.models import Paper

    authors = list(User.objects.filter(username__startswith=USERNAME_PREFIX)[:50])
    with transaction.atomic():
        Comment.objects.filter(paper=paper).delete()
        tops = Comment.objects.bulk_create(
            Comment(
                paper=paper,
                author=authors[i % len(authors)],
                body=f"Question {i}: how does *this* compare with $O(n \\log n)$?",
                html=render_markdown(f"Question {i}: how does *this* compare with $O(n \\log n)$?"),
            )
            for i in range(PAGE_COMMENTS * 2 // 3)
        )
        Comment.objects.bulk_create(
            Comment(
                paper=paper,
                author=authors[(i + 1) % len(authors)],
                parent=tops[i % len(tops)],
                body=f"Answer {i}",
                html=f"<p>Answer {i}</p>",
            )
            for i in range(PAGE_COMMENTS - len(tops))
        )
        Paper.objects.filter(pk=paper.pk).update(comment_count=PAGE_COMMENTS)


def page_throughput(port: int, paper: Any, *, duration: int, rounds: int) -> dict[str, Any]:
    url = f"http://127.0.0.1:{port}/papers/{paper.arxiv_id}"
    base = f"http://127.0.0.1:{port}{BASELINE}"
    prepare_reader(READER)
    cookie = log_in(f"http://127.0.0.1:{port}", READER)  # through the login form
    found: dict[str, Any] = {"path": f"/papers/{paper.arxiv_id}", "comments": PAGE_COMMENTS}
    for audience, headers in (("visitor", {}), ("member", {"Cookie": cookie})):
        wrk(url, duration=1, connections=10, headers=headers)  # warm: built once
        runs, bases = [], []
        for _ in range(rounds):
            runs.append(wrk(url, duration=duration, connections=10, headers=headers))
            bases.append(wrk(base, duration=duration, connections=10, headers=headers))
        rps = sum(r["rps"] for r in runs) / rounds
        base_rps = sum(r["rps"] for r in bases) / rounds
        found[audience] = {
            "rps": rps,
            "p50": sum(r["p50"] for r in runs) / rounds,
            "p99": max(r["p99"] for r in runs),
            "baseline_rps": base_rps,
            "ratio": rps / base_rps,
        }
        print(
            f"  paper page with {PAGE_COMMENTS} comments, {audience}: {rps:,.0f} req/s "
            f"against {base_rps:,.0f} for the baseline (ratio {rps / base_rps:.2f}), "
            f"p99 {found[audience]['p99']:.1f} ms"
        )
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--papers", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--page-seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=5)
    parser.add_argument("--port", type=int, default=8093)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    setup_django()
    remove_talkers()
    papers = hot_papers(args.papers + 1)
    env = server_env(args.port)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    env.update(
        COMMENTS_PER_HOUR="100000000",
        NEW_MEMBER_COMMENTS_PER_HOUR="100000000",
        NOTIFICATION_MAIL_EVERY_MINUTES="60",
    )
    server = start_gunicorn(env, workers=args.workers, port=args.port)
    try:
        started = time.monotonic()
        results: dict[str, Any] = {"storm": storm(args, args.port, papers[:-1])}
        fill_page(papers[-1])  # a paper the storm left alone: nothing lands on it meanwhile
        results["page"] = page_throughput(
            args.port, papers[-1], duration=args.page_seconds, rounds=args.rounds
        )
        results["seconds"] = time.monotonic() - started
    finally:
        server.terminate()
        server.wait()  # a graceful stop: the comments in flight are written first
    results["storm"]["drift"] = drift(papers[:-1])
    print(f"  drift: {results['storm']['drift']} papers whose count differs from their comments")
    remove_talkers()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    if results["storm"]["drift"]:
        raise SystemExit("drift: comment counts differ from the comments")


if __name__ == "__main__":
    main()
