"""A member's own profile page: who they are, their upvoted papers, API tokens and digest
subscription, and the display name form on it."""

from __future__ import annotations

from http import HTTPStatus

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_POST, require_safe

from accounts.forms import DisplayNameForm, PublicProfileForm
from accounts.models import AVATAR_COLOURS, MemberRequest, User
from accounts.services import member_set_display_name, member_set_public_profile
from accounts.views import tokens_context
from caching.users import member_scope
from config.params import page_number, safe_next
from discussions.selectors import member_comments
from papers import caching as pages
from papers import follows, foryou
from papers.caching import Loaded
from papers.citations import export_response
from papers.claims import authored_papers, member_claims
from papers.models import Follow
from papers.selectors import listing, user_upvoted_papers
from people.selectors import member_profile
from readinglists.selectors import member_collections, public_collections
from readinglists.services import owner_scope


def _profile_page(
    request: MemberRequest, *, name_form: DisplayNameForm | None = None, status: int = 200
) -> HttpResponse:
    profile = member_profile(user=request.user, page=page_number(request.GET.get("page")))
    context = {
        "profile": profile,
        "subscription": profile.subscription,
        "comments": member_comments(request.user),
        "collections": member_collections(request.user),
        "claims": member_claims(request.user),
        "public_form": PublicProfileForm(
            initial={
                "bio": request.user.bio,
                "website": request.user.website,
                "show_upvotes": request.user.show_upvotes,
            }
        ),
        "name_form": name_form
        or DisplayNameForm(initial={"display_name": getattr(request.user, "display_name", "")}),
    }
    context.update(tokens_context(request))  # `tokens`, and `new_token` once after a creation
    return render(request, "people/profile.html", context, status=status)


@never_cache  # private, no-store: it shows a new API token once
@login_required
@require_safe
def profile(request: MemberRequest) -> HttpResponse:
    """The member's handle and name, upvoted papers, API tokens and digest subscription."""
    return _profile_page(request)


@never_cache
@login_required
@require_POST
def display_name(request: MemberRequest) -> HttpResponse:
    """Set the name others see the member by (empty: their handle)."""
    form = DisplayNameForm(request.POST)
    if not form.is_valid():
        return _profile_page(request, name_form=form, status=HTTPStatus.BAD_REQUEST)
    member_set_display_name(user=request.user, name=form.cleaned_data["display_name"])
    messages.success(request, "Your display name is saved.")
    return redirect("people:profile")


@never_cache
@login_required
@require_POST
def notifications(request: MemberRequest) -> HttpResponse:
    """Whether mentions and replies are mailed to the member."""
    wanted = request.POST.get("notify_by_email") == "on"
    User.objects.filter(pk=request.user.pk).update(notify_by_email=wanted)
    if wanted:
        messages.success(request, "Mentions and replies will be mailed to you, at most hourly.")
    else:
        messages.success(request, "No more mails about mentions and replies.")
    return redirect("people:profile")


@never_cache
@login_required
@require_POST
def public_profile(request: MemberRequest) -> HttpResponse:
    """The bio, website and whether upvotes show on the member's public page."""
    form = PublicProfileForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect("people:profile")
    member_set_public_profile(user=request.user, **form.cleaned_data)
    messages.success(request, "Your public page is saved.")
    return redirect("people:profile")


PUBLIC_LIST_SIZE = 20


@require_safe
def member(request: HttpRequest, handle: str) -> HttpResponse:
    """A member's public page: who they are, what they authored and submitted, their
    public collections, their comments, and their upvotes if they chose to show them.
    Kept until one of those changes (each announces the member's scope)."""
    found = User.objects.filter(username=handle, is_active=True).first()
    if found is None:
        raise Http404("No such member")

    def load() -> Loaded:
        context = {
            "member": found,
            "authored": authored_papers(found, limit=PUBLIC_LIST_SIZE),
            "submitted": listing(found.submitted_papers.all()).order_by("-listed_on", "-id")[
                :PUBLIC_LIST_SIZE
            ],
            "comments": member_comments(found),
            "collections": public_collections(found),
            "upvoted": (
                user_upvoted_papers(found)[:PUBLIC_LIST_SIZE] if found.show_upvotes else None
            ),
            "follow": follows.button_holes(),
        }
        return Loaded(context, cards=[], shown=[])

    return pages.respond(
        request,
        key=f"member|{found.pk}",
        template="people/member.html",
        load=load,
        here=lambda: reverse("people:member", args=[found.username]),
        scopes=[
            member_scope(found.pk),
            owner_scope(found.pk),
            pages.voter_scope(found.pk),
            "catalog",
        ],
        personal=lambda user, holes: follows.button_values(
            user, Follow.Kind.MEMBER, found.username, hidden=user.pk == found.pk
        ),
    )


@require_safe
@cache_control(public=True, max_age=3600)
def avatar(request: HttpRequest, handle: str) -> HttpResponse:
    """The member's initials on their colour, as an SVG image (the API's `avatarUrl`)."""
    found = User.objects.filter(username=handle, is_active=True).first()
    if found is None:
        raise Http404("No such member")
    context = {"initials": found.initials, "colour": AVATAR_COLOURS[found.avatar_colour]}
    svg = render_to_string("people/avatar.svg", context)
    return HttpResponse(svg, content_type="image/svg+xml")


UPVOTES_EXPORT_LIMIT = 5_000


@never_cache
@login_required
@require_safe
def upvotes_export(request: MemberRequest, fmt: str) -> HttpResponse:
    """The member's upvoted papers, most recent vote first, as BibTeX or CSL-JSON."""
    papers = user_upvoted_papers(request.user)[:UPVOTES_EXPORT_LIMIT]
    return export_response(papers, fmt, "upvoted-papers")


# --- follows ----------------------------------------------------------------------------------


@login_required
@require_safe
def following(request: MemberRequest) -> HttpResponse:
    """The member's Following feed: the papers of the authors, topics and members they
    follow, newest first, and what they follow."""
    user = request.user
    page = page_number(request.GET.get("page"))

    def load() -> Loaded:
        feed = follows.following_page(user, page=page)
        return Loaded(
            {"feed": feed},
            cards=feed.papers,
            shown=feed.papers,
            scopes=[*feed.scopes, *pages.paper_scopes(feed.papers)],
        )

    here = reverse("people:following") + (f"?page={page}" if page > 1 else "")
    return pages.respond(
        request,
        key=f"following|{user.pk}|{page}",
        template="people/following.html",
        load=load,
        here=lambda: here,
        scopes=[follows.follows_scope(user.pk), "catalog"],
    )


@login_required
@require_safe
def for_you(request: MemberRequest) -> HttpResponse:
    """The recent papers ranked for the member by what they upvoted, saved and follow,
    each with its reason; a member with nothing yet picks a few topics to start."""
    user = request.user
    page = page_number(request.GET.get("page"))

    def load() -> Loaded:
        found = foryou.for_you(user, page=page)
        papers = [item.paper for item in found.items]
        today = timezone.now().date()
        items = [
            (item.reason, pages.card(item.paper, member=True, today=today)) for item in found.items
        ]
        context = {
            "feed": found,
            "items": items,
            "starters": [
                (topic, follows.plain_button(Follow.Kind.TOPIC)) for topic in foryou.STARTER_TOPICS
            ],
        }
        return Loaded(context, cards=papers, shown=papers, scopes=pages.paper_scopes(papers))

    here = reverse("people:for-you") + (f"?page={page}" if page > 1 else "")
    return pages.respond(
        request,
        key=f"for-you|{user.pk}|{page}",
        template="people/for_you.html",
        load=load,
        here=lambda: here,
        scopes=[*foryou.taste_scopes(user.pk), "catalog"],
    )


def _kind(kind: str) -> str:
    if kind not in Follow.Kind.values:
        raise Http404("Follow an author, a topic or a member")
    return kind


@login_required
@require_POST
def follow(request: MemberRequest, kind: str) -> HttpResponse:
    """Follow an author, a topic or a member (`value`: the name, the words, the handle)."""
    value = request.POST.get("value", "")
    try:
        made = follows.follow(user=request.user, kind=_kind(kind), value=value)
    except follows.FollowRefused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, f"You follow {made.label}: their papers are in your feed.")
    return redirect(safe_next(request, reverse("people:following")))


@login_required
@require_POST
def unfollow(request: MemberRequest, kind: str) -> HttpResponse:
    value = request.POST.get("value", "")
    if follows.unfollow(user=request.user, kind=_kind(kind), value=value):
        messages.success(request, f"You no longer follow {' '.join(value.split())[:100]}.")
    return redirect(safe_next(request, reverse("people:following")))
