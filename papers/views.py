"""HTML pages: feeds, trending, paper pages, search, upvotes and submissions."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps
from http import HTTPStatus
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.contrib.messages import get_messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from papers import selectors, services
from papers.markdown import paper_as_markdown
from papers.models import Paper
from papers.periods import Period, parse_period, period_of
from papers.responses import cached_response
from papers.sources import arxiv

KINDS = {"date": "Daily", "week": "Weekly", "month": "Monthly"}


def cache_for_visitors(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Serve anonymous visitors a page rendered once per feed version.

    Visitors' pages carry nothing personal (no CSRF token: their upvote buttons are links to
    the login page), so one rendering serves them all until an upvote, a submission, an
    ingestion or a moderation changes the feed version. Members and pages showing a flash
    message are rendered each time.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if request.user.is_authenticated or len(get_messages(request)):
            return view(request, *args, **kwargs)
        today = timezone.now().date()
        path = hashlib.sha256(request.get_full_path().encode()).hexdigest()
        key = f"papers:page:{today}:{path}"
        version, cached = selectors.cached_for_feed(key)
        if cached is not None:
            return cached_response(request, key=key, version=version, body=cached)
        response = view(request, *args, **kwargs)
        if response.status_code == HTTPStatus.OK and not response.cookies:
            body = response.content
            selectors.cache_for_feed(key, version, body, timeout=selectors.FEED_CACHE_SECONDS)
            return cached_response(request, key=key, version=version, body=body)
        return response

    return wrapper


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return fallback


def _with_votes(request: HttpRequest, papers: list[Paper]) -> list[Paper]:
    upvoted = selectors.upvoted_ids(request.user, [p.pk for p in papers])
    for paper in papers:
        paper.upvoted = paper.pk in upvoted
    return papers


def _tabs(period: Period) -> list[dict[str, object]]:
    return [
        {
            "label": label,
            "url": reverse(
                f"papers:{'day' if kind == 'date' else kind}", args=[period.containing(kind).slug]
            ),
            "active": kind == period.kind,
        }
        for kind, label in KINDS.items()
    ]


def _render_feed(request: HttpRequest, period: Period, *, is_latest: bool = False) -> HttpResponse:
    order = request.GET.get("sort", "votes")
    if order not in selectors.ORDERS:
        order = "votes"
    try:
        page_number = int(request.GET.get("page", "1"))
    except ValueError:
        page_number = 1
    today = timezone.now().date()
    feed = selectors.feed_page(period, order=order, page=page_number, today=today)
    context = {
        "feed": feed,
        "period": period,
        "papers": _with_votes(request, feed.papers),
        "order": order,
        "tabs": _tabs(period),
        "is_latest": is_latest,
        "url_name": f"papers:{'day' if period.kind == 'date' else period.kind}",
    }
    return render(request, "papers/feed.html", context)


@require_GET
@cache_for_visitors
def latest(request: HttpRequest) -> HttpResponse:
    """The latest day that has papers (today's date when there are none yet)."""
    if request.GET.get("q"):
        return redirect(f"{reverse('papers:search')}?{urlencode({'q': request.GET['q']})}")
    today = timezone.now().date()
    day = selectors.latest_listed_day(until=today) or today
    return _render_feed(request, period_of("date", day), is_latest=True)


@require_GET
@cache_for_visitors
def feed(request: HttpRequest, kind: str, slug: str) -> HttpResponse:
    """A day, an ISO week or a month of papers."""
    if request.GET.get("q"):
        return redirect(f"{reverse('papers:search')}?{urlencode({'q': request.GET['q']})}")
    try:
        period = parse_period(kind, slug)
    except ValueError:
        raise Http404(f"{slug} is not a valid {kind}") from None
    return _render_feed(request, period)


@require_GET
@cache_for_visitors
def trending(request: HttpRequest) -> HttpResponse:
    """Recent papers ranked by a time-decayed score."""
    papers = list(selectors.trending_papers(now=timezone.now())[:50])
    return render(request, "papers/trending.html", {"papers": _with_votes(request, papers)})


@require_GET
@cache_for_visitors
def paper(request: HttpRequest, arxiv_id: str) -> HttpResponse:
    """One paper; a versioned id redirects to the canonical page."""
    canonical, version = arxiv.split_arxiv_id(arxiv_id)
    if version is not None:
        return redirect("papers:paper", arxiv_id=canonical, permanent=True)
    found = selectors.paper_by_id(canonical)
    if found is None:
        raise Http404("No such paper here")
    related = selectors.related_papers(found)
    _with_votes(request, [found, *related])
    return render(request, "papers/paper.html", {"paper": found, "related": related})


@require_GET
def paper_markdown(request: HttpRequest, arxiv_id: str) -> HttpResponse:
    """The paper page as Markdown (what `huggingface_hub.HfApi.read_paper` reads)."""
    canonical, _version = arxiv.split_arxiv_id(arxiv_id)
    found = selectors.paper_by_id(canonical)
    if found is None:
        raise Http404("No such paper here")
    url = request.build_absolute_uri(reverse("papers:paper", args=[found.arxiv_id]))
    return HttpResponse(
        paper_as_markdown(found, url=url), content_type="text/markdown; charset=utf-8"
    )


@require_GET
@cache_for_visitors
def search(request: HttpRequest) -> HttpResponse:
    """Full-text search; an arXiv id or URL goes straight to the paper."""
    query = request.GET.get("q", "").strip()[:200]
    context: dict[str, object] = {"query": query, "terms": selectors.search_terms(query)}
    arxiv_id = selectors.arxiv_id_in_query(query)
    if arxiv_id:
        if selectors.paper_by_id(arxiv_id) is not None:
            return redirect("papers:paper", arxiv_id=arxiv_id)
        context["missing_id"] = arxiv_id
    elif query:
        try:
            number = int(request.GET.get("page", "1"))
        except ValueError:
            number = 1
        results = selectors.search_page(query, page=number)
        context["page"] = results
        context["papers"] = _with_votes(request, results.papers)
    return render(request, "papers/search.html", context)


@require_POST
def upvote(request: HttpRequest, arxiv_id: str) -> HttpResponse:
    """Toggle the member's upvote; htmx gets the button back, a plain form a redirect."""
    fallback = reverse("papers:paper", args=[arxiv_id])
    if not request.user.is_authenticated:
        login = redirect_to_login(_safe_next(request, fallback))
        if request.htmx:
            response = HttpResponse(status=204)
            response["HX-Redirect"] = login["Location"]
            return response
        return login
    found = selectors.paper_by_id(arxiv_id)
    if found is None:
        raise Http404("No such paper here")
    state = services.paper_toggle_upvote(paper=found, user=request.user)
    if request.htmx:
        found.upvoted = state.upvoted
        return render(
            request,
            "includes/upvote_button.html",
            {"paper": found, "votes": state.upvotes, "next": _safe_next(request, fallback)},
        )
    return redirect(_safe_next(request, fallback))


@login_required
@require_http_methods(["GET", "POST"])
def submit(request: HttpRequest) -> HttpResponse:
    """Add a paper by arXiv id or URL; it is listed today with the member as submitter."""
    today = timezone.now().date()
    context = {
        "left": services.submissions_left_today(user=request.user, today=today),
        "limit": settings.SUBMISSIONS_PER_DAY,
        "value": request.GET.get("paper_id", ""),
    }
    if request.method == "POST":
        value = request.POST.get("paper_id", "").strip()
        context["value"] = value
        arxiv_id = selectors.arxiv_id_in_query(value)
        if arxiv_id is None:
            context["error"] = "Enter an arXiv id (like 2401.12345) or an arXiv URL."
            return render(request, "papers/submit.html", context, status=400)
        try:
            result = services.paper_submit(
                user=request.user, arxiv_id=arxiv_id, fetch=arxiv.fetch_by_ids
            )
        except services.SubmissionError as exc:
            context["error"] = str(exc)
            return render(request, "papers/submit.html", context, status=400)
        if result.created:
            messages.success(request, "Thanks! The paper is on today's list.")
        else:
            messages.info(request, "This paper is already here.")
        return redirect("papers:paper", arxiv_id=result.paper.arxiv_id)
    return render(request, "papers/submit.html", context)
