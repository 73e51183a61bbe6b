"""Writes to collections. The owner may do everything; an invited editor may change the
items and the description, not delete the collection, change who sees it or who edits it."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.text import slugify

from accounts.models import User
from caching import announce
from config.refusals import Refused
from papers.foryou import refresh_later
from papers.models import Paper
from readinglists.models import Collection, CollectionItem, Visibility

MAX_COLLECTIONS = 200
MAX_ITEMS = 1000


class CollectionError(Refused):
    pass


def collection_scope(collection_id: int) -> str:
    """The scope of a collection's page (what a write to the collection changes)."""
    return f"collection:{collection_id}"


def owner_scope(owner_id: int) -> str:
    """The scope of the list of a member's collections (their public page shows it)."""
    return f"collections-of:{owner_id}"


def _changed(collection: Collection) -> None:
    """Announce a write to the collection, once committed: its page and its owner's public
    page (which lists their public collections) are built again; nothing else is."""
    scopes = {collection_scope(collection.pk), owner_scope(collection.owner_id)}
    announce(hard=scopes)  # once committed
    refresh_later(collection.owner_id)  # what they saved is part of their "For you" taste


def can_edit(user: User, collection: Collection) -> bool:
    return collection.owner_id == user.pk or collection.editors.filter(pk=user.pk).exists()


def _check_edit(user: User, collection: Collection) -> None:
    if not can_edit(user, collection):
        raise CollectionError("Only its owner and editors can change this collection.", 403)


def _check_owner(user: User, collection: Collection) -> None:
    if collection.owner_id != user.pk:
        raise CollectionError("Only its owner can do that.", 403)


def _clean_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise CollectionError("Give the collection a name.")
    name = " ".join(name.split())
    if len(name) > 100:
        raise CollectionError("A collection's name is at most 100 characters.")
    return name


def _clean_visibility(visibility: object) -> str:
    if visibility not in Visibility.values:
        raise CollectionError("Choose who sees it: public, unlisted or private.")
    return str(visibility)


def _unique_slug(owner: User, name: str) -> str:
    base = slugify(name)[:100] or "collection"
    slug, n = base, 1
    taken = Collection.objects.filter(owner=owner)
    while taken.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def collection_create(
    *, owner: User, name: object, description: str = "", visibility: object = "private"
) -> Collection:
    name = _clean_name(name)
    visibility = _clean_visibility(visibility)
    if Collection.objects.filter(owner=owner).count() >= MAX_COLLECTIONS:
        raise CollectionError(f"You have {MAX_COLLECTIONS} collections already.")
    made = Collection.objects.create(
        owner=owner,
        name=name,
        slug=_unique_slug(owner, name),
        description=description.strip()[:2000],
        visibility=visibility,
    )
    _changed(made)
    return made


def collection_update(
    *,
    user: User,
    collection: Collection,
    name: object,
    description: str,
    visibility: object | None = None,
) -> Collection:
    _check_edit(user, collection)
    collection.name = _clean_name(name)
    collection.description = description.strip()[:2000]
    if visibility is not None and visibility != collection.visibility:
        _check_owner(user, collection)
        collection.visibility = _clean_visibility(visibility)
    collection.save()
    _changed(collection)
    return collection


def collection_delete(*, user: User, collection: Collection) -> None:
    _check_owner(user, collection)
    _changed(collection)
    collection.delete()


def item_add(*, user: User, collection: Collection, paper: Paper, note: str = "") -> bool:
    """Add the paper at the end (False when it was there already)."""
    _check_edit(user, collection)
    with transaction.atomic():
        locked = Collection.objects.select_for_update().get(pk=collection.pk)
        if locked.items.count() >= MAX_ITEMS:
            raise CollectionError(f"A collection holds at most {MAX_ITEMS} papers.")
        last = locked.items.aggregate(last=Max("position"))["last"]
        try:
            with transaction.atomic():
                CollectionItem.objects.create(
                    collection=locked,
                    paper=paper,
                    position=(last or 0) + 1,
                    note=note.strip()[:2000],
                    added_by=user,
                )
        except IntegrityError:
            return False
        locked.save(update_fields=["updated_at"])
        _changed(locked)
    return True


def item_remove(*, user: User, collection: Collection, paper: Paper) -> None:
    _check_edit(user, collection)
    collection.items.filter(paper=paper).delete()
    collection.save(update_fields=["updated_at"])
    _changed(collection)


def item_note(*, user: User, collection: Collection, paper: Paper, note: str) -> None:
    _check_edit(user, collection)
    collection.items.filter(paper=paper).update(note=note.strip()[:2000])
    collection.save(update_fields=["updated_at"])
    _changed(collection)


def item_move(*, user: User, collection: Collection, paper: Paper, offset: int) -> None:
    """Move the paper up (offset -1) or down (+1) by swapping it with its neighbour."""
    _check_edit(user, collection)
    with transaction.atomic():
        items = list(collection.items.select_for_update().order_by("position", "id"))
        index = next((i for i, item in enumerate(items) if item.paper_id == paper.pk), None)
        if index is None:
            raise CollectionError("That paper is not in this collection.", 404)
        other = index + offset
        if not 0 <= other < len(items):
            return
        items[index], items[other] = items[other], items[index]
        for position, item in enumerate(items, start=1):
            if item.position != position:
                CollectionItem.objects.filter(pk=item.pk).update(position=position)
        collection.save(update_fields=["updated_at"])
        _changed(collection)


def editor_invite(*, user: User, collection: Collection, handle: str) -> User:
    _check_owner(user, collection)
    editor = User.objects.filter(username=handle.strip().lstrip("@"), is_active=True).first()
    if editor is None:
        raise CollectionError("No member has that handle.", 404)
    if editor.pk == collection.owner_id:
        raise CollectionError("You own this collection already.")
    collection.editors.add(editor)
    return editor


def editor_remove(*, user: User, collection: Collection, handle: str) -> None:
    _check_owner(user, collection)
    collection.editors.remove(*User.objects.filter(username=handle))
