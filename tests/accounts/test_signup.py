from __future__ import annotations

import datetime as dt
from http import HTTPStatus

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from tests.accounts.helpers import PASSWORD, is_signed_in, link_in_last_mail, sign_up

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 20, 9, 0, tzinfo=dt.UTC)


def test_signup_asks_only_for_email_and_password(client):
    html = client.get("/accounts/signup/").content.decode()

    assert 'name="email"' in html
    assert 'name="password1"' in html
    assert 'name="password2"' in html
    assert 'name="username"' not in html
    assert '<label for="id_email">' in html


def test_signup_mails_a_confirmation_link_that_confirms_and_signs_in(client):
    sign_up(client, "ada@example.org")

    user = get_user_model().objects.get(email="ada@example.org")
    assert user.username.startswith("member-")  # a neutral handle, not taken from the email
    assert "ada" not in user.username
    assert user.check_password(PASSWORD)
    assert not is_signed_in(client)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ada@example.org"]
    assert mail.outbox[0].subject.startswith("[Daily Papers] ")
    link = link_in_last_mail("/accounts/confirm-email/")

    page = client.get(link)  # opening the link alone confirms nothing (mail scanners do that)
    assert page.status_code == HTTPStatus.OK
    assert not EmailAddress.objects.get(email="ada@example.org").verified
    response = client.post(link)

    assert response.status_code == HTTPStatus.FOUND
    assert EmailAddress.objects.get(email="ada@example.org").verified
    assert is_signed_in(client)


def test_login_is_refused_until_the_email_is_confirmed(client):
    sign_up(client, "ada@example.org")
    link = link_in_last_mail("/accounts/confirm-email/")
    other_browser = Client()

    before = other_browser.post(
        "/accounts/login/", {"login": "ada@example.org", "password": PASSWORD}
    )
    assert before.status_code == HTTPStatus.FOUND
    assert before["Location"] == "/accounts/confirm-email/"
    assert not is_signed_in(other_browser)

    Client().post(link)  # confirmed from any browser, say the phone's
    after = other_browser.post(
        "/accounts/login/?next=/papers/trending",
        {"login": "ada@example.org", "password": PASSWORD},
    )

    assert after.status_code == HTTPStatus.FOUND
    assert after["Location"] == "/papers/trending"
    assert is_signed_in(other_browser)


def test_login_ignores_a_next_url_on_another_site(client):
    sign_up(client, "ada@example.org")
    Client().post(link_in_last_mail("/accounts/confirm-email/"))

    response = Client().post(
        "/accounts/login/?next=https://evil.example/phish",
        {"login": "ada@example.org", "password": PASSWORD},
    )

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/"


def test_handles_are_unique_and_say_nothing_of_the_email(client):
    sign_up(client, "sam@example.org")
    sign_up(Client(), "sam@example.com")

    usernames = set(get_user_model().objects.values_list("username", flat=True))

    assert len(usernames) == 2
    assert not any("sam" in username for username in usernames)


def test_signing_up_again_with_a_taken_email_creates_no_account_and_reveals_nothing(client):
    with time_machine.travel(NOW, tick=False) as clock:
        sign_up(client, "ada@example.org")
        client.post(link_in_last_mail("/accounts/confirm-email/"))
        clock.shift(dt.timedelta(minutes=4))  # mail to one address is limited to 1 in 3 minutes

        sign_up(Client(), "ADA@example.org", password="another-long-passphrase")

    assert get_user_model().objects.count() == 1
    assert mail.outbox[-1].to == ["ada@example.org"]
    assert "already" in mail.outbox[-1].subject.lower() + mail.outbox[-1].body.lower()


def test_signup_errors_are_shown_next_to_their_field(client):
    response = client.post(
        "/accounts/signup/",
        {"email": "not-an-email", "password1": "short", "password2": "different"},
    )

    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert 'id="id_email_error"' in html
    assert 'aria-invalid="true"' in html
    assert get_user_model().objects.count() == 0


@pytest.mark.parametrize(("method", "mails"), [("optional", 1), ("none", 0)])
def test_relaxed_email_verification_signs_in_at_signup(client, settings, method, mails):
    settings.ACCOUNT_EMAIL_VERIFICATION = method  # allauth reads it on every request

    response = client.post(
        "/accounts/signup/",
        {"email": "ada@example.org", "password1": PASSWORD, "password2": PASSWORD},
    )

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/"
    assert is_signed_in(client)
    assert len(mail.outbox) == mails
