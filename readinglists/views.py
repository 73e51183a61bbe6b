"""Collection pages and writes; every write works as a plain form and with htmx."""

from __future__ import annotations

from http import HTTPStatus

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.models import MemberRequest, User
from caching.users import member_scope
from config.params import safe_next
from papers import caching as pages
from papers.caching import Loaded
from papers.citations import export_response
from papers.views import paper_or_404
from readinglists import selectors, services
from readinglists.models import Collection, Visibility


def _collection(request: HttpRequest, handle: str, slug: str) -> Collection:
    found = selectors.collection_for(request.user, handle, slug)
    if found is None:
        raise Http404("No such collection")
    return found


def _url(collection: Collection) -> str:
    return reverse("readinglists:detail", args=[collection.owner.username, collection.slug])


def _refused(request: HttpRequest, error: services.CollectionError, back: str) -> HttpResponse:
    return render(
        request,
        "readinglists/refused.html",
        {"error": str(error), "back": back},
        status=error.status,
    )


@require_safe
def detail(request: HttpRequest, handle: str, slug: str) -> HttpResponse:
    """A collection. Its readers get the page from the cache (built again when the
    collection or the votes of its papers change); its editors, who see the controls, and
    private collections are built for each request."""
    collection = _collection(request, handle, slug)
    user = request.user
    editable = isinstance(user, User) and services.can_edit(user, collection)

    def load() -> Loaded:
        items = selectors.collection_items(collection)
        context = {
            "collection": collection,
            "items": items,
            "editable": editable,
            "owner": editable and user.pk == collection.owner_id,
            "editors": list(collection.editors.all()) if editable else [],
            "visibilities": Visibility.choices,
        }
        papers = [item.paper for item in items]
        return Loaded(context, cards=[], shown=[], scopes=pages.paper_scopes(papers))

    if editable or collection.visibility == Visibility.PRIVATE:
        return render(request, "readinglists/detail.html", load().context)
    return pages.respond(
        request,
        key=f"collection|{collection.pk}",
        template="readinglists/detail.html",
        load=load,
        here=lambda: _url(collection),
        scopes=[services.collection_scope(collection.pk), member_scope(collection.owner_id)],
    )


@require_safe
def export(request: HttpRequest, handle: str, slug: str, fmt: str) -> HttpResponse:
    """The collection's papers, in its order, as BibTeX or CSL-JSON."""
    collection = _collection(request, handle, slug)
    papers = [item.paper for item in selectors.collection_items(collection)]
    return export_response(papers, fmt, collection.slug)


@login_required
@require_http_methods(["GET", "POST"])
def new(request: MemberRequest) -> HttpResponse:
    context: dict[str, object] = {"visibilities": Visibility.choices, "visibility": "private"}
    if request.method == "POST":
        context.update(request.POST.dict())
        try:
            collection = services.collection_create(
                owner=request.user,
                name=request.POST.get("name", ""),
                description=request.POST.get("description", ""),
                visibility=request.POST.get("visibility", "private"),
            )
        except services.CollectionError as exc:
            context["error"] = str(exc)
            return render(request, "readinglists/new.html", context, status=exc.status)
        return redirect(_url(collection))
    return render(request, "readinglists/new.html", context)


@login_required
@require_POST
def edit(request: MemberRequest, handle: str, slug: str) -> HttpResponse:
    collection = _collection(request, handle, slug)
    try:
        services.collection_update(
            user=request.user,
            collection=collection,
            name=request.POST.get("name", collection.name),
            description=request.POST.get("description", collection.description),
            visibility=request.POST.get("visibility") or None,
        )
    except services.CollectionError as exc:
        return _refused(request, exc, _url(collection))
    messages.success(request, "Saved.")
    return redirect(_url(collection))


@login_required
@require_POST
def delete(request: MemberRequest, handle: str, slug: str) -> HttpResponse:
    collection = _collection(request, handle, slug)
    try:
        services.collection_delete(user=request.user, collection=collection)
    except services.CollectionError as exc:
        return _refused(request, exc, _url(collection))
    messages.success(request, f"The collection “{collection.name}” is deleted.")
    return redirect("people:profile")


@login_required
@require_POST
def item(
    request: MemberRequest, handle: str, slug: str, arxiv_id: str, action: str
) -> HttpResponse:
    collection = _collection(request, handle, slug)
    paper = paper_or_404(arxiv_id)
    try:
        if action == "up":
            services.item_move(user=request.user, collection=collection, paper=paper, offset=-1)
        elif action == "down":
            services.item_move(user=request.user, collection=collection, paper=paper, offset=1)
        elif action == "remove":
            services.item_remove(user=request.user, collection=collection, paper=paper)
        elif action == "note":
            services.item_note(
                user=request.user,
                collection=collection,
                paper=paper,
                note=request.POST.get("note", ""),
            )
        else:
            raise Http404("No such action")
    except services.CollectionError as exc:
        return _refused(request, exc, _url(collection))
    return redirect(_url(collection) + f"#item-{paper.arxiv_id}")


@login_required
@require_POST
def editors(request: MemberRequest, handle: str, slug: str) -> HttpResponse:
    collection = _collection(request, handle, slug)
    try:
        if request.POST.get("remove"):
            services.editor_remove(
                user=request.user, collection=collection, handle=request.POST["remove"]
            )
        else:
            editor = services.editor_invite(
                user=request.user, collection=collection, handle=request.POST.get("handle", "")
            )
            messages.success(request, f"{editor.public_name} can now edit this collection.")
    except services.CollectionError as exc:
        return _refused(request, exc, _url(collection))
    return redirect(_url(collection))


@login_required
@require_http_methods(["GET", "POST"])
def save(request: MemberRequest, arxiv_id: str) -> HttpResponse:
    """Put the paper in (or take it out of) the member's collections, or a new one."""
    paper = paper_or_404(arxiv_id)
    back = safe_next(request, reverse("papers:paper", args=[paper.arxiv_id]))
    if request.method == "POST":
        try:
            name = request.POST.get("new_name", "").strip()
            if name:
                collection = services.collection_create(owner=request.user, name=name)
                services.item_add(user=request.user, collection=collection, paper=paper)
                messages.success(request, f"Saved to your new collection “{collection.name}”.")
            else:
                collection = _owned_or_edited(request, request.POST.get("collection", ""))
                if request.POST.get("action") == "remove":
                    services.item_remove(user=request.user, collection=collection, paper=paper)
                    messages.success(request, f"Taken out of “{collection.name}”.")
                else:
                    services.item_add(user=request.user, collection=collection, paper=paper)
                    messages.success(request, f"Saved to “{collection.name}”.")
        except services.CollectionError as exc:
            return _refused(request, exc, back)
        if not getattr(request, "htmx", False):
            return redirect(back)
    mine = list(selectors.member_collections(request.user))
    holding = set(
        paper.collection_items.filter(collection__in=mine).values_list("collection_id", flat=True)
    )
    context = {
        "paper": paper,
        "collections": [(c, c.pk in holding) for c in mine],
        "next": back,
    }
    htmx = getattr(request, "htmx", False)
    template = "readinglists/includes/save.html" if htmx else "readinglists/save.html"
    return render(request, template, context)


def _owned_or_edited(request: MemberRequest, pk: str) -> Collection:
    found = selectors.member_collections(request.user).filter(pk=pk if pk.isdigit() else 0).first()
    if found is None:
        raise services.CollectionError("Choose one of your collections.", HTTPStatus.NOT_FOUND)
    return found
