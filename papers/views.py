"""HTML pages: feeds, trending, paper pages, search, upvotes and submissions."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import date
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.middleware import HtmxDetails

from accounts.authentication import vote_allowed
from accounts.models import MemberRequest, User
from config.params import page_number, safe_next
from papers import caching as pages
from papers import categories, claims, follows, selectors
from papers import sections as paper_sections
from papers.authors import author_key, papers_by_author
from papers.caching import Loaded, vote_holes, vote_mark
from papers.citations import export_response
from papers.markdown import paper_as_markdown
from papers.models import Follow, Paper
from papers.periods import Period, parse_period, period_of
from papers.services import submissions, votes
from papers.sources import arxiv
from papers.sources.records import split_arxiv_id
from papers.terms import search_terms

TRENDING_REFRESH_SECONDS = 60  # the ranking moves with time, not only with votes
KINDS = {"date": "Daily", "week": "Weekly", "month": "Monthly"}


def paper_or_404(arxiv_id: str) -> Paper:
    """The paper of an arXiv id (a version is ignored), or the site's 404."""
    found = selectors.paper_by_id(split_arxiv_id(arxiv_id)[0])
    if found is None:
        raise Http404("No such paper here")
    return found


def _here(path: str, **params: object) -> str:
    """A page's canonical address: `path` with the parameters that are not defaults."""
    query = urlencode({name: value for name, value in params.items() if value is not None})
    return f"{path}?{query}" if query else path


def _period_url(period: Period, category: str) -> str:
    """The feed page of a period, of one category or of all."""
    name = "day" if period.kind == "date" else period.kind
    if category:
        return reverse(f"papers:category-{name}", args=[category, period.slug])
    return reverse(f"papers:{name}", args=[period.slug])


def _tabs(period: Period, category: str) -> list[dict[str, object]]:
    return [
        {
            "label": label,
            "url": _period_url(period.containing(kind), category),
            "active": kind == period.kind,
        }
        for kind, label in KINDS.items()
    ]


def _feed_loader(
    period: Period, *, order: str, page: int, today: date, is_latest: bool, category: str
) -> Callable[[], Loaded]:
    def load() -> Loaded:
        feed = selectors.feed_page(period, order=order, page=page, today=today, category=category)
        previous, following = feed.neighbours.previous, feed.neighbours.next
        context = {
            "feed": feed,
            "period": period,
            "papers": feed.papers,
            "order": order,
            "tabs": _tabs(period, category),
            "is_latest": is_latest,
            "category": categories.category(category) if category else None,
            "previous_url": _period_url(previous, category) if previous else "",
            "next_url": _period_url(following, category) if following else "",
        }
        # The latest day is found while loading: the page depends on that day too.
        scopes = [pages.period_scope(period)] if is_latest else []
        return Loaded(context, cards=feed.papers, shown=feed.papers, scopes=scopes)

    return load


def _feed_response(
    request: HttpRequest, view: str, period: Period | None, category: str = ""
) -> HttpResponse:
    """A feed page (`period` None: the latest day with papers, found when it is built), of
    one category or of all."""
    order = request.GET.get("sort", "votes")
    if order not in selectors.ORDERS:
        order = "votes"
    page = page_number(request.GET.get("page"))
    today = timezone.now().date()

    def here() -> str:
        args = [category] if category else []
        path = reverse(view, args=[*args, period.slug] if period else args)
        return _here(
            path, sort=order if order != "votes" else None, page=page if page > 1 else None
        )

    if period is None:

        def load() -> Loaded:
            day = selectors.latest_listed_day(until=today, category=category) or today
            latest = period_of("date", day)
            return _feed_loader(
                latest, order=order, page=page, today=today, is_latest=True, category=category
            )()

        scopes = ["catalog"]
    else:
        load = _feed_loader(
            period, order=order, page=page, today=today, is_latest=False, category=category
        )
        scopes = ["catalog", pages.period_scope(period)]
    return pages.respond(
        request,
        key=f"{view}|{category}|{period.slug if period else ''}|{order}|{page}|{today}",
        template="papers/feed.html",
        load=load,
        here=here,
        scopes=scopes,
    )


def _feed_redirect(request: HttpRequest, slug: str | None = None) -> HttpResponse | None:
    """A search typed in a feed goes to the search page; `?category=` to that category's
    page of the same period."""
    if request.GET.get("q"):
        return redirect(f"{reverse('papers:search')}?{urlencode({'q': request.GET['q']})}")
    if "category" in request.GET:
        code = _category_or_404(request.GET["category"])
        if not code:
            return None
        kind = request.resolver_match.kwargs.get("kind") if request.resolver_match else None
        if kind and slug:
            return redirect(_period_url(_period_or_404(kind, slug), code))
        return redirect("papers:category", code=code)
    return None


def _category_or_404(value: str) -> str:
    code = categories.clean_category(value)
    if code is None:
        raise Http404(f"{value[:40]!r} is not an arXiv category")
    return code


@require_GET
def latest(request: HttpRequest) -> HttpResponse:
    """The latest day that has papers (today's date when there are none yet)."""
    view = request.resolver_match.view_name if request.resolver_match else "papers:home"
    return _feed_redirect(request) or _feed_response(request, view, None)


def _period_or_404(kind: str, slug: str) -> Period:
    try:
        return parse_period(kind, slug)
    except ValueError:
        raise Http404(f"{slug} is not a valid {kind}") from None


@require_GET
def feed(request: HttpRequest, kind: str, slug: str) -> HttpResponse:
    """A day, an ISO week or a month of papers."""
    if redirected := _feed_redirect(request, slug):
        return redirected
    period = _period_or_404(kind, slug)
    return _feed_response(request, f"papers:{'day' if kind == 'date' else kind}", period)


@require_GET
def category_latest(request: HttpRequest, code: str) -> HttpResponse:
    """A category's latest day with papers (its primary papers and its cross-lists)."""
    code = _category_or_404(code)
    if redirected := _feed_redirect(request):
        return redirected
    return _feed_response(request, "papers:category", None, code)


@require_GET
def category_feed(request: HttpRequest, code: str, kind: str, slug: str) -> HttpResponse:
    """A category's day, ISO week or month."""
    code = _category_or_404(code)
    period = _period_or_404(kind, slug)
    name = "day" if kind == "date" else kind
    return _feed_response(request, f"papers:category-{name}", period, code)


@require_GET
def category_index(request: HttpRequest) -> HttpResponse:
    """Every current arXiv category, by group."""
    return render(request, "papers/categories.html", {"groups": categories.groups()})


@require_GET
def trending(request: HttpRequest) -> HttpResponse:
    """Recent papers ranked by a time-decayed score."""
    now = timezone.now()

    def load() -> Loaded:
        papers = list(selectors.page_of(selectors.trending_papers(now=timezone.now()), 0, 50))
        return Loaded({"papers": papers}, cards=papers, shown=papers)

    return pages.respond(
        request,
        key=f"trending|{now.date()}",
        template="papers/trending.html",
        load=load,
        here=lambda: reverse("papers:trending"),
        scopes=["catalog", "recent"],
        max_age=TRENDING_REFRESH_SECONDS,
    )


@require_GET
def paper(request: HttpRequest, arxiv_id: str) -> HttpResponse:
    """One paper; a versioned id redirects to the canonical page."""
    canonical, version = split_arxiv_id(arxiv_id)
    if version is not None:
        return redirect("papers:paper", arxiv_id=canonical, permanent=True)

    def load() -> Loaded:
        found = selectors.paper_by_id(canonical)
        if found is None:
            raise Http404("No such paper here")
        related = pages.related_papers(found)
        context = {
            "paper": found,
            "authors": claims.shown_authors(found),
            "vote": vote_holes(found.pk),
            "related": related,
        }
        parts = {"sections_html": functools.partial(_render_sections, sections, found)}
        return Loaded(
            context,
            cards=related,
            shown=[found, *related],
            scopes=pages.paper_scopes(related),
            parts=parts,
        )

    def personal(user: User, holes: Sequence[str]) -> dict[str, bytes]:
        values: dict[str, bytes] = {}
        for section in sections:
            values.update(section.personal(user, holes))
        return values

    sections = paper_sections.registered()
    return pages.respond(
        request,
        key=f"paper|{canonical}",
        template="papers/paper.html",
        load=load,
        here=lambda: reverse("papers:paper", args=[canonical]),
        scopes=[
            f"paper:{canonical}",
            "catalog",
            *(scope for section in sections for scope in section.scopes(canonical)),
        ],
        personal=personal,
    )


def _render_sections(
    sections: Sequence[paper_sections.PaperSection], paper: Paper, member: bool
) -> str:
    return "".join(section.render(paper, member=member) for section in sections)


@require_GET
def paper_markdown(request: HttpRequest, arxiv_id: str) -> HttpResponse:
    """The paper page as Markdown (what `huggingface_hub.HfApi.read_paper` reads)."""
    found = paper_or_404(arxiv_id)
    url = request.build_absolute_uri(reverse("papers:paper", args=[found.arxiv_id]))
    return HttpResponse(
        paper_as_markdown(found, url=url), content_type="text/markdown; charset=utf-8"
    )


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    """Full-text search, in one arXiv category if `?category=` names one; an arXiv id or URL
    goes straight to the paper."""
    query = request.GET.get("q", "").replace("\x00", "").strip()[:200]
    category = categories.clean_category(request.GET.get("category"))
    if category is None:
        return render(
            request,
            "papers/search.html",
            {"query": query, "groups": categories.groups(), "bad_category": True},
            status=400,
        )
    terms = search_terms(query)
    arxiv_id = selectors.arxiv_id_in_query(query)
    if arxiv_id and selectors.paper_by_id(arxiv_id) is not None:
        return redirect("papers:paper", arxiv_id=arxiv_id)
    number = page_number(request.GET.get("page")) if query and not arxiv_id else 1
    context: dict[str, object] = {
        "query": query,
        "terms": terms,
        "follow_topic": follows.plain_button(Follow.Kind.TOPIC),
        "category": category,
        "category_query": f"&category={category}" if category else "",
        "groups": categories.groups(),
    }

    def load() -> Loaded:
        if arxiv_id:
            return Loaded({**context, "missing_id": arxiv_id}, cards=[], shown=[])
        if not query:
            return Loaded(context, cards=[], shown=[])
        results = pages.search_page(query, page=number, category=category)
        return Loaded(
            {**context, "page": results, "papers": results.papers},
            cards=results.papers,
            shown=results.papers,
            terms=terms,
            scopes=pages.paper_scopes(results.papers),
        )

    return pages.respond(
        request,
        key=f"search|{number}|{category}|{query}",
        template="papers/search.html",
        load=load,
        here=lambda: _here(
            reverse("papers:search"),
            q=query or None,
            category=category or None,
            page=number if number > 1 else None,
        ),
        scopes=["catalog"],
    )


class HtmxHttpRequest(HttpRequest):
    """A request as django-htmx's middleware leaves it (its typing guide's way)."""

    htmx: HtmxDetails


@require_POST
def upvote(request: HtmxHttpRequest, arxiv_id: str) -> HttpResponse:
    """Toggle the member's upvote; htmx gets the button back, a plain form a redirect."""
    fallback = reverse("papers:paper", args=[arxiv_id])
    if not request.user.is_authenticated:
        login = redirect_to_login(safe_next(request, fallback))
        if request.htmx:
            response = HttpResponse(status=204)
            response["HX-Redirect"] = login["Location"]
            return response
        return login
    found = selectors.paper_by_id(arxiv_id)
    if found is None:
        raise Http404("No such paper here")
    allowed, wait = vote_allowed(request.user.pk)
    if not allowed:
        response = render(request, "429.html", status=429)
        response["Retry-After"] = str(max(1, int(wait)))
        return response
    state = votes.paper_toggle_upvote(paper=found, user=request.user)
    if request.htmx:
        context = {
            "paper": found,
            "vote": vote_mark(state.upvotes, state.upvoted),
            "next": safe_next(request, fallback),
        }
        return render(request, "includes/upvote_button.html", context)
    return redirect(safe_next(request, fallback))


@login_required
@require_http_methods(["GET", "POST"])
def submit(request: MemberRequest) -> HttpResponse:
    """Add a paper by arXiv id or URL; it is listed today with the member as submitter."""
    today = timezone.now().date()
    context = {
        "left": submissions.submissions_left_today(user=request.user, today=today),
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
            result = submissions.paper_submit(
                user=request.user, arxiv_id=arxiv_id, fetch=arxiv.fetch_by_ids
            )
        except submissions.SubmissionRefused as exc:
            context["error"] = str(exc)
            response = render(request, "papers/submit.html", context, status=429)
            response["Retry-After"] = str(max(1, int(exc.wait)))
            return response
        except submissions.SubmissionError as exc:
            context["error"] = str(exc)
            return render(request, "papers/submit.html", context, status=400)
        if result.created:
            messages.success(request, "Thanks! The paper is on today's list.")
        else:
            messages.info(request, "This paper is already here.")
        return redirect("papers:paper", arxiv_id=result.paper.arxiv_id)
    return render(request, "papers/submit.html", context)


EXPORT_LIMIT = 100  # papers in a search's export


@require_GET
def paper_citation(request: HttpRequest, arxiv_id: str, fmt: str) -> HttpResponse:
    """The paper as BibTeX or CSL-JSON."""
    found = paper_or_404(arxiv_id)
    return export_response([found], fmt, f"arXiv-{found.arxiv_id}")


@require_GET
def search_citations(request: HttpRequest, fmt: str) -> HttpResponse:
    """A search's first results as BibTeX or CSL-JSON."""
    query = request.GET.get("q", "").strip()[:200]
    found = pages.papers_matching(query, limit=EXPORT_LIMIT) if query else []
    return export_response(found, fmt, f"search-{query}" if query else "search")


@require_GET
def author(request: HttpRequest, name: str) -> HttpResponse:
    """Every paper by an author name (spellings normalised: papers/authors.py), and the
    members verified as that author."""
    name = " ".join(name.split())[:200]
    key = author_key(name)

    def load() -> Loaded:
        found = papers_by_author(name)
        if not found:
            raise Http404("No papers by that author here")
        spellings = sorted(
            {
                a["name"]
                for paper in found
                for a in paper.authors
                if author_key(a.get("name", "")) == key
            }
        )
        context = {
            "name": name,
            "papers": found,
            "spellings": spellings,
            "members": claims.members_of_author(key),
            "follow": follows.button_holes(),
        }
        return Loaded(context, cards=[], shown=[], scopes=pages.paper_scopes(found))

    return pages.respond(
        request,
        key=f"author|{name}",
        template="papers/author.html",
        load=load,
        here=lambda: reverse("papers:author", args=[name]),
        scopes=["catalog", claims.author_scope(key)],
        personal=lambda user, holes: follows.button_values(user, Follow.Kind.AUTHOR, name),
    )


@login_required
@require_http_methods(["GET", "POST"])
def claim(request: MemberRequest, arxiv_id: str) -> HttpResponse:
    """ "This is me": the member claims one of the paper's authors; a moderator decides."""
    found = paper_or_404(arxiv_id)
    context: dict[str, object] = {"paper": found, "authors": claims.shown_authors(found)}
    if request.method == "POST":
        index = request.POST.get("author", "")
        try:
            if not index.isdigit() or len(index) > 6:
                raise claims.ClaimRefused("Choose the author who is you.")
            made = claims.claim_author(user=request.user, paper=found, index=int(index))
        except claims.ClaimRefused as refused:
            context["error"] = refused.message
            return render(request, "papers/claim.html", context, status=refused.status)
        messages.success(
            request,
            f"Your claim to be {made.author_name} waits for a moderator: your profile shows "
            "when it is decided.",
        )
        return redirect("papers:paper", arxiv_id=found.arxiv_id)
    context["mine"] = [c for c in claims.member_claims(request.user) if c.paper_id == found.pk]
    return render(request, "papers/claim.html", context)
