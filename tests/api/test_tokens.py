"""Personal API tokens: made on the profile page, shown once, stored as a digest, sent as
`Authorization: Bearer`, revoked for good, and never acting for anyone else."""

from __future__ import annotations

import hashlib
from http import HTTPStatus

import pytest
from django.db import connection
from django.urls import reverse

from accounts.models import ApiToken
from accounts.services import MAX_ACTIVE_TOKENS, ApiTokenError, api_token_create, api_token_revoke
from papers.models import Upvote
from tests.api.conftest import bearer
from tests.factories import PaperFactory

pytestmark = pytest.mark.django_db


def test_a_new_token_is_stored_only_as_its_digest(alice):
    created = api_token_create(user=alice, name="  my   laptop ")

    token = ApiToken.objects.get()
    assert created.plaintext.startswith("dp_")
    assert len(created.plaintext) > 40
    assert token.name == "my laptop"
    assert token.key_hash == hashlib.sha256(created.plaintext.encode()).hexdigest()
    assert token.prefix == created.plaintext[:9]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {ApiToken._meta.db_table}")  # noqa: S608
        stored = cursor.fetchall()
    assert created.plaintext not in repr(stored)


def test_every_token_is_different(alice):
    tokens = {api_token_create(user=alice, name=f"t{n}").plaintext for n in range(5)}

    assert len(tokens) == 5


def test_a_token_needs_a_name_and_a_member_has_a_bounded_number(alice):
    with pytest.raises(ApiTokenError, match="name"):
        api_token_create(user=alice, name="   ")
    for n in range(MAX_ACTIVE_TOKENS):
        api_token_create(user=alice, name=f"t{n}")
    with pytest.raises(ApiTokenError, match="revoke one"):
        api_token_create(user=alice, name="one too many")


def test_whoami_answers_with_the_tokens_member(client, alice, alice_token):
    response = client.get("/api/whoami", headers=bearer(alice_token))

    assert response.status_code == HTTPStatus.OK
    me = response.json()
    assert (me["username"], me["email"]) == ("alice", "alice@example.org")
    assert me["token"]["name"] == "alice's laptop"
    assert ApiToken.objects.get().last_used_at is not None


def test_whoami_v2_answers_in_hugging_faces_shape(client, alice_token):
    me = client.get("/api/whoami-v2", headers=bearer(alice_token)).json()

    assert me["name"] == "alice"
    assert me["type"] == "user"
    assert me["orgs"] == []
    assert me["auth"]["accessToken"]["displayName"] == "alice's laptop"
    assert me["auth"]["accessToken"]["role"] == "write"


@pytest.mark.parametrize("url", ["/api/whoami", "/api/whoami-v2"])
def test_whoami_without_a_token_is_a_401_with_a_bearer_challenge(client, url):
    response = client.get(url)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json() == {"error": "Authentication credentials were not provided."}


@pytest.mark.parametrize(
    "header",
    [
        "Bearer dp_wrong",
        "Bearer",
        "Bearer two words",
        "bearer " + "x" * 5000,
        "Bearer dp_caf\xe9",
    ],
)
def test_a_wrong_token_is_a_401(client, alice_token, header):
    PaperFactory(arxiv_id="2606.00001")

    whoami = client.get("/api/whoami", headers={"Authorization": header})
    upvote = client.post("/api/papers/2606.00001/upvote", headers={"Authorization": header})

    assert whoami.status_code == upvote.status_code == HTTPStatus.UNAUTHORIZED
    assert Upvote.objects.count() == 0


def test_a_revoked_token_is_a_401_and_the_others_still_work(client, alice, alice_token):
    other = api_token_create(user=alice, name="other").plaintext
    token = ApiToken.objects.get(name="alice's laptop")

    assert api_token_revoke(user=alice, token_id=token.pk) is True
    assert api_token_revoke(user=alice, token_id=token.pk) is False  # already revoked

    response = client.get("/api/whoami", headers=bearer(alice_token))
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == {"error": "Invalid or revoked token."}
    assert client.get("/api/whoami", headers=bearer(other)).status_code == HTTPStatus.OK


def test_the_token_of_a_deactivated_member_is_a_401(client, alice, alice_token):
    alice.is_active = False
    alice.save()

    assert client.get("/api/whoami", headers=bearer(alice_token)).status_code == 401


def test_a_token_acts_only_for_its_own_member(client, alice, bob, alice_token, bob_token):
    paper = PaperFactory(arxiv_id="2606.00001")

    client.post(
        "/api/papers/2606.00001/upvote",
        {"user": "bob", "user_id": bob.pk},
        content_type="application/json",
        headers=bearer(alice_token),
    )
    bobs_view = client.get("/api/papers", headers=bearer(bob_token)).json()["results"]
    alices_view = client.get("/api/papers", headers=bearer(alice_token)).json()["results"]

    assert list(Upvote.objects.values_list("user__username", "paper")) == [("alice", paper.pk)]
    assert bobs_view[0]["upvoted"] is False
    assert alices_view[0]["upvoted"] is True
    assert client.get("/api/whoami", headers=bearer(bob_token)).json()["username"] == "bob"


def test_a_member_cannot_revoke_another_members_token(alice, bob, alice_token):
    token = ApiToken.objects.get(user=alice)

    assert api_token_revoke(user=bob, token_id=token.pk) is False
    token.refresh_from_db()
    assert token.revoked_at is None


# --- the profile page's views --------------------------------------------------------------


def test_a_member_creates_a_token_and_sees_it_once(client, alice):
    client.force_login(alice)

    response = client.post("/accounts/profile/tokens", {"name": "CI"}, follow=True)

    token = ApiToken.objects.get(user=alice)
    assert response.redirect_chain == [("/accounts/profile/", HTTPStatus.FOUND)]
    html = response.content.decode()
    assert 'value="dp_' in html
    plaintext = html.split('id="new-api-token" type="text" value="', 1)[1].split('"', 1)[0]
    assert hashlib.sha256(plaintext.encode()).hexdigest() == token.key_hash
    assert "CI" in html
    again = client.get("/accounts/profile/").content.decode()
    assert plaintext not in again  # shown once
    assert token.prefix in again
    assert client.get("/api/whoami", headers=bearer(plaintext)).json()["username"] == "alice"


def test_a_member_revokes_a_token_on_the_profile_page(client, alice, alice_token):
    token = ApiToken.objects.get(user=alice)
    client.force_login(alice)

    response = client.post(f"/accounts/profile/tokens/{token.pk}/revoke")

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/accounts/profile/"
    assert client.get("/api/whoami", headers=bearer(alice_token)).status_code == 401
    assert token.prefix not in client.get("/accounts/profile/").content.decode()


def test_a_member_cannot_revoke_another_members_token_on_the_page(client, bob, alice_token):
    token = ApiToken.objects.get()
    client.force_login(bob)

    response = client.post(f"/accounts/profile/tokens/{token.pk}/revoke")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert client.get("/api/whoami", headers=bearer(alice_token)).status_code == HTTPStatus.OK


def test_the_token_views_need_a_member_and_a_post(client, alice):
    anonymous = client.post("/accounts/profile/tokens", {"name": "x"})
    client.force_login(alice)
    by_get = client.get("/accounts/profile/tokens")
    nameless = client.post("/accounts/profile/tokens", {"name": ""})

    assert anonymous.status_code == HTTPStatus.FOUND
    assert "/accounts/login/" in anonymous["Location"]
    assert by_get.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert nameless.status_code == HTTPStatus.FOUND
    assert ApiToken.objects.count() == 0


def test_the_real_profile_page_shows_a_new_token_once(client, alice):
    """The same flow through the site's own profile page (accounts/urls.py)."""
    client.force_login(alice)

    response = client.post(reverse("accounts:token-create"), {"name": "CI"}, follow=True)

    token = ApiToken.objects.get(user=alice)
    assert response.redirect_chain == [(reverse("people:profile"), HTTPStatus.FOUND)]
    html = response.content.decode()
    plaintext = html.split('id="new-api-token" type="text" value="', 1)[1].split('"', 1)[0]
    assert hashlib.sha256(plaintext.encode()).hexdigest() == token.key_hash
    assert plaintext not in client.get(reverse("people:profile")).content.decode()
