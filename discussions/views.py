"""Discussion pages and writes. Every write works as a plain form (a redirect back to
the comment) and with htmx (the discussion swapped in place; an error is put next to the
form, whose draft stays as typed)."""

from __future__ import annotations

from http import HTTPStatus

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import escape
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.models import MemberRequest
from discussions import selectors, services
from discussions.models import REACTIONS, Comment, ReportReason
from discussions.sections import discussion_for
from papers.models import Paper
from papers.views import paper_or_404


def _comment(comment_id: int) -> Comment:
    comment = selectors.comment_by_id(comment_id)
    if comment is None:
        raise Http404("No such comment")
    return comment


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _done(request: MemberRequest, paper: Paper, comment: Comment | None) -> HttpResponse:
    if _is_htmx(request):
        return HttpResponse(discussion_for(request, paper, request.user))
    anchor = f"#comment-{comment.pk}" if comment is not None else "#discussion"
    return redirect(reverse("papers:paper", args=[paper.arxiv_id]) + anchor)


def _refused(
    request: MemberRequest,
    error: services.CommentError,
    *,
    paper: Paper,
    form_id: str,
    action: str,
    draft: str = "",
    target: str = "",
) -> HttpResponse:
    """The error next to the form (htmx; `target` where there is no form), or a page with
    the message and the draft."""
    if _is_htmx(request):
        # 422 is the one error code htmx is set to swap (base.html): the form stays.
        response = HttpResponse(escape(str(error)), status=HTTPStatus.UNPROCESSABLE_ENTITY)
        response["HX-Retarget"] = target or f"#error-{form_id}"
        response["HX-Reswap"] = "innerHTML"
    else:
        context = {
            "paper": paper,
            "error": str(error),
            "draft": draft,
            "action": action,
            "form_id": form_id,
            "max_chars": settings.COMMENT_MAX_CHARS,
        }
        response = render(request, "discussions/refused.html", context, status=error.status)
    if error.wait:
        response["Retry-After"] = str(max(1, int(error.wait)))
    return response


def _write(request: MemberRequest, paper: Paper, parent: Comment | None) -> HttpResponse:
    body = request.POST.get("body", "")
    try:
        comment = services.comment_post(user=request.user, paper=paper, body=body, parent=parent)
    except services.CommentError as exc:
        if parent is None:
            form_id, action = "new", reverse("discussions:post", args=[paper.arxiv_id])
        else:
            form_id, action = f"{parent.pk}-reply", reverse("discussions:reply", args=[parent.pk])
        return _refused(request, exc, paper=paper, form_id=form_id, action=action, draft=body)
    return _done(request, paper, comment)


def _refused_under(
    request: MemberRequest, error: services.CommentError, comment: Comment
) -> HttpResponse:
    """An action on a comment with no form of its own: the error goes under the comment."""
    target = f"#slot-{comment.pk}"
    return _refused(request, error, paper=comment.paper, form_id="", action="", target=target)


@login_required
@require_POST
def post(request: MemberRequest, arxiv_id: str) -> HttpResponse:
    return _write(request, paper_or_404(arxiv_id), None)


def _form(request: MemberRequest, name: str, comment: Comment, **context: object) -> HttpResponse:
    """A form for a comment: in place (htmx, `includes/<name>_form.html`) or as a page."""
    template = (
        f"discussions/includes/{name}_form.html"
        if _is_htmx(request)
        else f"discussions/{name}.html"
    )
    context = {
        "comment": comment,
        "paper": comment.paper,
        "max_chars": settings.COMMENT_MAX_CHARS,
        **context,
    }
    return render(request, template, context)


@login_required
@require_http_methods(["GET", "POST"])
def reply(request: MemberRequest, comment_id: int) -> HttpResponse:
    parent = _comment(comment_id)
    if request.method == "GET":
        return _form(request, "reply", parent, form_id=f"{parent.pk}-reply")
    return _write(request, parent.paper, parent)


@login_required
@require_http_methods(["GET", "POST"])
def edit(request: MemberRequest, comment_id: int) -> HttpResponse:
    comment = _comment(comment_id)
    if comment.author_id != request.user.pk:
        raise Http404("No such comment of yours")
    form_id = f"{comment.pk}-edit"
    action = reverse("discussions:edit", args=[comment.pk])
    if request.method == "POST":
        body = request.POST.get("body", "")
        try:
            services.comment_edit(user=request.user, comment=comment, body=body)
        except services.CommentError as exc:
            return _refused(
                request, exc, paper=comment.paper, form_id=form_id, action=action, draft=body
            )
        return _done(request, comment.paper, comment)
    return _form(request, "edit", comment, form_id=form_id, draft=comment.body)


@login_required
@require_http_methods(["GET", "POST"])
def delete(request: MemberRequest, comment_id: int) -> HttpResponse:
    comment = _comment(comment_id)
    if comment.author_id != request.user.pk:
        raise Http404("No such comment of yours")
    if request.method == "GET":
        return _form(request, "delete", comment)
    try:
        services.comment_delete(user=request.user, comment=comment)
    except services.CommentError as exc:
        return _refused_under(request, exc, comment)
    return _done(request, comment.paper, None)


@login_required
@require_http_methods(["GET", "POST"])
def react(request: MemberRequest, comment_id: int) -> HttpResponse:
    comment = _comment(comment_id)
    if request.method == "GET":
        mine = {emoji for _, emoji in selectors.reacted(request.user, [comment.pk])}
        counts = selectors.reaction_counts(comment)
        reactions = [
            (emoji, counts.get(emoji, 0), "true" if emoji in mine else "false")
            for emoji in REACTIONS
        ]
        return _form(request, "react", comment, reactions=reactions)
    try:
        services.comment_react(
            user=request.user, comment=comment, emoji=request.POST.get("emoji", "")
        )
    except services.CommentError as exc:
        return _refused_under(request, exc, comment)
    return _done(request, comment.paper, comment)


@login_required
@require_http_methods(["GET", "POST"])
def report(request: MemberRequest, comment_id: int) -> HttpResponse:
    comment = _comment(comment_id)
    context: dict[str, object] = {"comment": comment, "reasons": ReportReason.choices}
    if request.method == "POST":
        reason = request.POST.get("reason", "")
        note = request.POST.get("note", "")
        context.update(reason=reason, note=note)
        try:
            services.comment_report(user=request.user, comment=comment, reason=reason, note=note)
        except services.CommentError as exc:
            context["error"] = str(exc)
            return render(request, "discussions/report.html", context, status=exc.status)
        return render(request, "discussions/reported.html", context)
    return render(request, "discussions/report.html", context)


@require_safe
def recent(request: HttpRequest) -> HttpResponse:
    """Papers with the newest comments."""
    return render(request, "discussions/recent.html", {"papers": selectors.recent_discussions()})
