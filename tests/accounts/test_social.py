"""GitHub and Hugging Face sign-in: shown only when configured; Hugging Face end to end
against a local OpenID Connect server."""

from __future__ import annotations

import time
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth import get_user_model
from django.http import HttpResponse
from django.test import Client
from werkzeug import Request, Response

from tests.accounts.helpers import is_signed_in

pytestmark = pytest.mark.django_db

GITHUB = {
    "APPS": [{"client_id": "gh-id", "secret": "gh-secret", "key": ""}],
    "SCOPE": ["read:user", "user:email"],
}


def huggingface(server_url: str = "https://huggingface.co") -> dict:
    """The app config/settings.py builds from HF_OAUTH_CLIENT_ID/SECRET (see
    test_account_settings.py), pointed at `server_url`."""
    return {
        "APPS": [
            {
                "provider_id": "huggingface",
                "name": "Hugging Face",
                "client_id": "hf-id",
                "secret": "hf-secret",
                "settings": {
                    "server_url": server_url,
                    "scope": ["openid", "profile", "email"],
                    "oauth_pkce_enabled": True,
                },
            }
        ]
    }


def test_no_provider_buttons_without_client_ids(client, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {}

    html = client.get("/accounts/login/").content.decode()

    assert "Continue with" not in html
    assert "third-party" not in html


def test_github_button_alone_when_only_github_is_configured(client, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {"github": GITHUB}

    html = client.get("/accounts/login/?next=/papers/trending").content.decode()

    assert "Continue with GitHub" in html
    assert 'action="/accounts/github/login/?process=login&amp;next=%2Fpapers%2Ftrending"' in html
    assert "Hugging Face" not in html


@pytest.mark.parametrize("page", ["/accounts/login/", "/accounts/signup/"])
def test_both_buttons_on_login_and_signup_when_both_are_configured(client, settings, page):
    settings.SOCIALACCOUNT_PROVIDERS = {"github": GITHUB, "openid_connect": huggingface()}

    html = client.get(page).content.decode()

    assert "Continue with GitHub" in html
    assert "Continue with Hugging Face" in html
    assert 'action="/accounts/oidc/huggingface/login/?process=login"' in html


def test_github_button_posts_to_github_with_the_email_scope(client, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {"github": GITHUB}

    asked = client.get("/accounts/github/login/?process=login")  # GET only asks to confirm
    response = client.post("/accounts/github/login/?process=login")

    assert asked.status_code == HTTPStatus.OK
    assert response.status_code == HTTPStatus.FOUND
    target = urlsplit(response["Location"])
    query = parse_qs(target.query)
    assert f"{target.scheme}://{target.netloc}{target.path}" == (
        "https://github.com/login/oauth/authorize"
    )
    assert query["client_id"] == ["gh-id"]
    assert set(query["scope"][0].split()) == {"read:user", "user:email"}
    assert query["redirect_uri"] == ["http://testserver/accounts/github/login/callback/"]


@pytest.fixture
def hf_server(httpserver, settings):
    """A local stand-in for huggingface.co's OpenID Connect endpoints."""
    base = httpserver.url_for("").rstrip("/")
    settings.SOCIALACCOUNT_PROVIDERS = {"openid_connect": huggingface(base)}
    httpserver.expect_request("/.well-known/openid-configuration").respond_with_json(
        {
            "issuer": base,
            "authorization_endpoint": f"{base}/oauth/authorize",
            "token_endpoint": f"{base}/oauth/token",
            "userinfo_endpoint": f"{base}/oauth/userinfo",
            "jwks_uri": f"{base}/oauth/jwks",
            "scopes_supported": ["openid", "profile", "email"],
            "response_types_supported": ["code"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        }
    )
    seen: dict[str, dict] = {}

    def token(request: Request) -> Response:
        seen["token"] = dict(request.form)
        now = int(time.time())
        claims = {"iss": base, "aud": "hf-id", "sub": "6520", "iat": now, "exp": now + 600}
        id_token = jwt.encode(claims, "signature-not-checked-over-a-direct-call", "HS256")
        return Response(
            f'{{"access_token": "hf_oauth_access", "token_type": "bearer", '
            f'"expires_in": 28800, "id_token": "{id_token}", "scope": "openid profile email"}}',
            content_type="application/json",
        )

    def userinfo(request: Request) -> Response:
        seen["userinfo"] = {"authorization": request.headers.get("Authorization")}
        return Response(
            '{"sub": "6520", "name": "Ada Lovelace", "preferred_username": "ada-l",'
            ' "email": "ada@example.org", "email_verified": true,'
            ' "profile": "https://huggingface.co/ada-l"}',
            content_type="application/json",
        )

    httpserver.expect_request("/oauth/token", method="POST").respond_with_handler(token)
    httpserver.expect_request("/oauth/userinfo").respond_with_handler(userinfo)
    return seen


def test_hugging_face_sign_in_creates_a_confirmed_member_and_goes_back_to_next(client, hf_server):
    start = client.post("/accounts/oidc/huggingface/login/?process=login&next=/papers/trending")
    assert start.status_code == HTTPStatus.FOUND
    authorize = urlsplit(start["Location"])
    params = {key: values[0] for key, values in parse_qs(authorize.query).items()}
    assert authorize.path == "/oauth/authorize"
    assert params["client_id"] == "hf-id"
    assert set(params["scope"].split()) == {"openid", "profile", "email"}
    assert params["code_challenge_method"] == "S256"
    callback = "/accounts/oidc/huggingface/login/callback/"
    assert params["redirect_uri"] == f"http://testserver{callback}"

    # Hugging Face sends the browser back with a code; the server trades it for tokens.
    done = client.get(callback, {"code": "hf-code", "state": params["state"]})

    assert done.status_code == HTTPStatus.FOUND, done.content.decode()
    assert done["Location"] == "/papers/trending"
    assert hf_server["token"]["code"] == "hf-code"
    assert hf_server["token"]["code_verifier"]
    assert hf_server["userinfo"]["authorization"] == "Bearer hf_oauth_access"
    user = get_user_model().objects.get(email="ada@example.org")
    assert SocialAccount.objects.get(user=user).provider == "huggingface"
    assert EmailAddress.objects.get(user=user).verified
    assert is_signed_in(client)


def test_hugging_face_callback_with_a_forged_state_signs_nobody_in(client, hf_server):
    client.post("/accounts/oidc/huggingface/login/?process=login")

    response = client.get(
        "/accounts/oidc/huggingface/login/callback/", {"code": "hf-code", "state": "forged"}
    )

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert "Third-Party Login Failure" in response.content.decode()
    assert "token" not in hf_server
    assert not is_signed_in(client)
    assert get_user_model().objects.count() == 0


def hugging_face_round_trip(client: Client) -> HttpResponse:
    """Start the Hugging Face sign-in and come back from it with a code."""
    start = client.post("/accounts/oidc/huggingface/login/?process=login")
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]
    return client.get(
        "/accounts/oidc/huggingface/login/callback/", {"code": "hf-code", "state": state}
    )


def test_hugging_face_username_taken_here_gets_another(client, hf_server, django_user_model):
    django_user_model.objects.create_user("ada-l", "someone-else@example.org", "pw-12345678!")

    hugging_face_round_trip(client)

    member = django_user_model.objects.get(email="ada@example.org")
    assert member.username != "ada-l"
    assert is_signed_in(client)


def test_hugging_face_email_of_an_existing_account_does_not_sign_into_it(
    client, hf_server, django_user_model
):
    owner = django_user_model.objects.create_user("ada", "ada@example.org", "pw-12345678!")
    EmailAddress.objects.create(user=owner, email=owner.email, verified=True, primary=True)

    hugging_face_round_trip(client)

    assert not is_signed_in(client)
    assert not SocialAccount.objects.exists()
    assert django_user_model.objects.count() == 1
