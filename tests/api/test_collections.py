"""Our collection endpoints: create, read, change, add and remove papers, with ownership."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.test import Client

from accounts.services import api_token_create
from readinglists.models import Collection
from tests.factories import PaperFactory

pytestmark = pytest.mark.django_db
JSON = "application/json"


def api(user) -> Client:
    token = api_token_create(user=user, name="bot").plaintext
    return Client(headers={"Authorization": f"Bearer {token}"})


def test_a_member_builds_a_collection_through_the_api(alice, bob):
    papers = PaperFactory.create_batch(2)
    alices = api(alice)
    created = alices.post("/api/collections", {"name": "Reading list"}, content_type=JSON)
    assert created.status_code == HTTPStatus.CREATED
    assert created.json()["private"] is True
    path = "/api/collections/" + created.json()["slug"]
    for paper in papers:
        added = alices.post(f"{path}/items", {"paper_id": paper.arxiv_id}, content_type=JSON)
        assert added.status_code == HTTPStatus.OK
    assert [i["id"] for i in alices.get(path).json()["items"]] == [p.arxiv_id for p in papers]
    # Private: a 404 to others, also to their writes.
    assert Client().get(path).status_code == HTTPStatus.NOT_FOUND
    assert api(bob).delete(path).status_code == HTTPStatus.NOT_FOUND
    shared = alices.patch(path, {"visibility": "public"}, content_type=JSON)
    assert shared.json()["visibility"] == "public"
    assert Client().get(path).status_code == HTTPStatus.OK
    assert api(bob).delete(path).status_code == HTTPStatus.FORBIDDEN
    removed = alices.delete(f"{path}/items/{papers[0].arxiv_id}")
    assert removed.status_code == HTTPStatus.NO_CONTENT
    assert alices.delete(path).status_code == HTTPStatus.NO_CONTENT
    assert not Collection.objects.exists()


def test_writes_need_a_member_and_clear_input(alice):
    assert (
        Client().post("/api/collections", {"name": "x"}, content_type=JSON).status_code
        == HTTPStatus.UNAUTHORIZED
    )
    bad = api(alice).post("/api/collections", {"name": ""}, content_type=JSON)
    assert bad.status_code == HTTPStatus.BAD_REQUEST
    bad = api(alice).post(
        "/api/collections", {"name": "x", "visibility": "secret"}, content_type=JSON
    )
    assert bad.status_code == HTTPStatus.BAD_REQUEST
    assert Client().get("/api/collections", {"item": "models/x"}).status_code == 400
