"""Staff sign in to the admin through allauth: its rate limits and a second factor apply."""

from __future__ import annotations

import time
from http import HTTPStatus

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
)

pytestmark = pytest.mark.django_db

PASSWORD = "pw-staff-1!"


@pytest.fixture
def moderator(staff):
    EmailAddress.objects.create(user=staff, email=staff.email, verified=True, primary=True)
    return staff


def test_the_admins_own_login_form_cannot_sign_anyone_in(client, moderator):
    page = client.get("/admin/login/?next=/admin/")
    guess = client.post("/admin/login/?next=/admin/", {"username": "staff", "password": PASSWORD})

    assert page.status_code == HTTPStatus.FOUND
    assert page["Location"].startswith("/accounts/login/")
    assert guess.status_code == HTTPStatus.FOUND
    assert guess["Location"].startswith("/accounts/login/")
    assert client.get("/admin/").status_code == HTTPStatus.FOUND  # still not signed in


def test_password_guessing_for_the_admin_is_rate_limited(client, moderator):
    for n in range(5):
        client.post("/accounts/login/", {"login": moderator.email, "password": f"guess-{n}"})

    # Even the right password is refused now: guessing stops after five tries.
    right = client.post("/accounts/login/", {"login": moderator.email, "password": PASSWORD})

    assert right.status_code != HTTPStatus.FOUND
    assert "Too many failed login attempts" in right.content.decode()
    assert client.get("/admin/").status_code == HTTPStatus.FOUND


def test_staff_with_a_second_factor_reach_the_admin_only_with_its_code(client, moderator):
    secret = generate_totp_secret()
    TOTP.activate(moderator, secret)

    password = client.post(
        "/accounts/login/?next=/admin/", {"login": moderator.email, "password": PASSWORD}
    )
    assert password.status_code == HTTPStatus.FOUND
    assert password["Location"].startswith("/accounts/2fa/authenticate/")
    assert client.get("/admin/").status_code == HTTPStatus.FOUND  # not yet

    wrong = client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    assert wrong.status_code == HTTPStatus.OK  # asked again
    code = format_hotp_value(hotp_value(secret, int(time.time() // 30)))
    right = client.post("/accounts/2fa/authenticate/", {"code": code})

    assert right.status_code == HTTPStatus.FOUND
    assert client.get("/admin/").status_code == HTTPStatus.OK


def test_members_are_offered_a_second_factor_from_their_account_pages(client, alice):
    client.force_login(alice)

    assert 'href="/accounts/2fa/"' in client.get("/accounts/profile/").content.decode()
    assert client.get("/accounts/2fa/").status_code == HTTPStatus.OK
