"""Collections over the API: Hugging Face's `GET /api/collections` (`item=papers/<id>`,
`owner`, `limit`; what `HfApi.list_collections` reads) and our own CRUD."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from django.db.models import Prefetch, Q
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import (
    AnonRateThrottle,
    BearerTokenAuthentication,
    MemberRateThrottle,
    OptionalBearerTokenAuthentication,
    request_member,
)
from api.errors import ERRORS, MEMBER_ERRORS, WRITE_ERRORS, ErrorSerializer, error, paper_or_404
from api.hf_shapes import HfUserSerializer, hf_datetime, member_person
from papers import selectors as paper_selectors
from papers.sources.records import split_arxiv_id
from readinglists import selectors, services
from readinglists.models import Collection, CollectionItem, Visibility

COLLECTIONS_TAG = "Collections"
LISTED_ITEMS = 4  # as huggingface.co, a listing shows a collection's first four items
MEMBER_AUTH = [BearerTokenAuthentication, SessionAuthentication]
READ_AUTH = [OptionalBearerTokenAuthentication, SessionAuthentication]


class HfNoteSerializer(serializers.Serializer[Any]):
    text = serializers.CharField(allow_blank=True)


class HfCollectionItemSerializer(serializers.Serializer[Any]):
    _id = serializers.CharField()
    id = serializers.CharField(help_text="The arXiv id")
    type = serializers.CharField()
    position = serializers.IntegerField()
    title = serializers.CharField()
    note = HfNoteSerializer(required=False)


class HfCollectionSerializer(serializers.Serializer[Any]):
    slug = serializers.CharField(help_text="<owner>/<slug>")
    title = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    owner = HfUserSerializer()
    items = HfCollectionItemSerializer(many=True)
    lastUpdated = serializers.CharField()
    position = serializers.IntegerField(required=False, help_text="Not in listings")
    private = serializers.BooleanField()
    visibility = serializers.CharField()
    theme = serializers.CharField()
    upvotes = serializers.IntegerField()
    isUpvotedByUser = serializers.BooleanField()


class CollectionsQuerySerializer(serializers.Serializer[Any]):
    item = serializers.RegexField(r"^papers/\S+$", required=False, help_text="papers/<arXiv id>")
    owner = serializers.CharField(required=False, max_length=150)
    limit = serializers.IntegerField(min_value=1, max_value=100, default=20)


class CollectionInputSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    visibility = serializers.ChoiceField(choices=Visibility.values, required=False)


class ItemInputSerializer(serializers.Serializer[Any]):
    paper_id = serializers.CharField(max_length=64)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True)


def _refused(exc: services.CollectionError) -> Response:
    return error(HTTPStatus(exc.status), str(exc))


def collection_shape(
    collection: Collection, items: list[CollectionItem], *, listed: bool = False
) -> dict[str, Any]:
    """Hugging Face's collection; in a listing without `position` (the client numbers
    them itself)."""
    owner = collection.owner
    shape = {
        "slug": f"{owner.username}/{collection.slug}",
        "title": collection.name,
        "description": collection.description,
        "owner": member_person(owner),
        "items": [
            {
                "_id": f"{item.pk:024x}",
                "id": item.paper.arxiv_id,
                "type": "paper",
                "position": position,
                "title": item.paper.title,
                **({"note": {"text": item.note}} if item.note else {}),
            }
            for position, item in enumerate(items)
        ],
        "lastUpdated": hf_datetime(collection.updated_at),
        "position": 0,
        "private": collection.visibility == Visibility.PRIVATE,
        "visibility": collection.visibility,
        "theme": "default",
        "upvotes": 0,
        "isUpvotedByUser": False,
    }
    if listed:
        del shape["position"]
    return shape


class CollectionsApi(APIView):
    authentication_classes = READ_AUTH
    permission_classes = [AllowAny]
    throttle_classes = [AnonRateThrottle, MemberRateThrottle]

    @extend_schema(
        operation_id="collections_list",
        summary="Collections holding a paper, or by a member",
        description=(
            "Hugging Face's shape (`HfApi.list_collections`): public collections, and your "
            f"own and shared ones when you are signed in; each with its first {LISTED_ITEMS} "
            "items."
        ),
        tags=[COLLECTIONS_TAG],
        parameters=[CollectionsQuerySerializer],
        responses={HTTPStatus.OK: HfCollectionSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request) -> Response:
        query = CollectionsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        shown = Q(visibility=Visibility.PUBLIC)
        if request.user.is_authenticated:
            shown |= Q(owner=request.user) | Q(editors=request.user)
        found = Collection.objects.filter(shown)
        item = query.validated_data.get("item")
        if item:
            paper = paper_selectors.paper_by_id(split_arxiv_id(item.split("/", 1)[1])[0])
            if paper is None:
                return Response([])
            found = found.filter(items__paper=paper)
        owner = query.validated_data.get("owner")
        if owner:
            found = found.filter(owner__username=owner)
        items = CollectionItem.objects.select_related("paper").order_by("position", "id")
        collections = (
            found.select_related("owner")
            .prefetch_related(Prefetch("items", queryset=items, to_attr="ordered"))
            .distinct()
            .order_by("-updated_at", "-id")[: query.validated_data["limit"]]
        )
        return Response(
            [
                collection_shape(c, c.ordered[:LISTED_ITEMS], listed=True)  # type: ignore[attr-defined]
                for c in collections
            ]
        )

    @extend_schema(
        operation_id="collection_create",
        summary="Create a collection",
        description="Private unless `visibility` says otherwise.",
        tags=[COLLECTIONS_TAG],
        request=CollectionInputSerializer,
        responses={HTTPStatus.CREATED: HfCollectionSerializer, **MEMBER_ERRORS},
    )
    def post(self, request: Request) -> Response:
        if not request.user.is_authenticated:
            raise exceptions.NotAuthenticated()
        given = CollectionInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            collection = services.collection_create(
                owner=request_member(request),
                name=given.validated_data["name"],
                description=given.validated_data.get("description", ""),
                visibility=given.validated_data.get("visibility", Visibility.PRIVATE),
            )
        except services.CollectionError as exc:
            return _refused(exc)
        return Response(collection_shape(collection, []), status=HTTPStatus.CREATED)


_owner = OpenApiParameter("owner", str, OpenApiParameter.PATH)
_slug = OpenApiParameter("slug", str, OpenApiParameter.PATH)


def _readable(request: Request, owner: str, slug: str) -> Collection:
    found = selectors.collection_for(request.user, owner, slug)
    if found is None:
        raise exceptions.NotFound("Collection not found")
    return found


class CollectionApi(APIView):
    # Reads are open (a token not ours is ignored, as for every read); writes need a member.
    authentication_classes = READ_AUTH
    throttle_classes = [AnonRateThrottle, MemberRateThrottle]

    def get_permissions(self) -> list[Any]:
        return [AllowAny()] if self.request.method == "GET" else [IsAuthenticated()]

    @extend_schema(
        operation_id="collection_get",
        summary="A collection with all its items",
        tags=[COLLECTIONS_TAG],
        parameters=[_owner, _slug],
        responses={HTTPStatus.OK: HfCollectionSerializer, HTTPStatus.NOT_FOUND: ErrorSerializer},
    )
    def get(self, request: Request, owner: str, slug: str) -> Response:
        collection = _readable(request, owner, slug)
        return Response(collection_shape(collection, selectors.collection_items(collection)))

    @extend_schema(
        operation_id="collection_update",
        summary="Rename, describe or share a collection",
        description="Owner and editors; only the owner changes `visibility`.",
        tags=[COLLECTIONS_TAG],
        parameters=[_owner, _slug],
        request=CollectionInputSerializer,
        responses={HTTPStatus.OK: HfCollectionSerializer, **WRITE_ERRORS},
    )
    def patch(self, request: Request, owner: str, slug: str) -> Response:
        collection = _readable(request, owner, slug)
        given = CollectionInputSerializer(data=request.data, partial=True)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        try:
            services.collection_update(
                user=request_member(request),
                collection=collection,
                name=data.get("name", collection.name),
                description=data.get("description", collection.description),
                visibility=data.get("visibility"),
            )
        except services.CollectionError as exc:
            return _refused(exc)
        return Response(collection_shape(collection, selectors.collection_items(collection)))

    @extend_schema(
        operation_id="collection_delete",
        summary="Delete a collection (its owner only)",
        tags=[COLLECTIONS_TAG],
        parameters=[_owner, _slug],
        request=None,
        responses={HTTPStatus.NO_CONTENT: None, **WRITE_ERRORS},
    )
    def delete(self, request: Request, owner: str, slug: str) -> Response:
        collection = _readable(request, owner, slug)
        try:
            services.collection_delete(user=request_member(request), collection=collection)
        except services.CollectionError as exc:
            return _refused(exc)
        return Response(status=HTTPStatus.NO_CONTENT)


class CollectionItemsApi(APIView):
    authentication_classes = MEMBER_AUTH
    permission_classes = [IsAuthenticated]
    throttle_classes = [AnonRateThrottle, MemberRateThrottle]

    @extend_schema(
        operation_id="collection_item_add",
        summary="Add a paper to a collection",
        description="At the end; adding a paper already there changes nothing.",
        tags=[COLLECTIONS_TAG],
        parameters=[_owner, _slug],
        request=ItemInputSerializer,
        responses={HTTPStatus.OK: HfCollectionSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, owner: str, slug: str) -> Response:
        collection = _readable(request, owner, slug)
        given = ItemInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        paper = paper_or_404(given.validated_data["paper_id"])
        try:
            services.item_add(
                user=request_member(request),
                collection=collection,
                paper=paper,
                note=given.validated_data.get("note", ""),
            )
        except services.CollectionError as exc:
            return _refused(exc)
        return Response(collection_shape(collection, selectors.collection_items(collection)))


class CollectionItemApi(APIView):
    authentication_classes = MEMBER_AUTH
    permission_classes = [IsAuthenticated]
    throttle_classes = [AnonRateThrottle, MemberRateThrottle]

    @extend_schema(
        operation_id="collection_item_remove",
        summary="Take a paper out of a collection",
        tags=[COLLECTIONS_TAG],
        parameters=[_owner, _slug, OpenApiParameter("paper_id", str, OpenApiParameter.PATH)],
        request=None,
        responses={HTTPStatus.NO_CONTENT: None, **WRITE_ERRORS},
    )
    def delete(self, request: Request, owner: str, slug: str, paper_id: str) -> Response:
        collection = _readable(request, owner, slug)
        paper = paper_or_404(paper_id)
        try:
            services.item_remove(user=request_member(request), collection=collection, paper=paper)
        except services.CollectionError as exc:
            return _refused(exc)
        return Response(status=HTTPStatus.NO_CONTENT)
