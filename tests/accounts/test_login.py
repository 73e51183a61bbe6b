from __future__ import annotations

from http import HTTPStatus

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client

from tests.accounts.helpers import PASSWORD, is_signed_in, link_in_last_mail

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada(django_user_model):
    """A member whose email is confirmed."""
    user = django_user_model.objects.create_user("ada", "ada@example.org", PASSWORD)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def log_in(client: Client, email: str, password: str, next_url: str = ""):
    query = f"?next={next_url}" if next_url else ""
    return client.post(f"/accounts/login/{query}", {"login": email, "password": password})


def test_login_page_has_labelled_fields_and_a_password_reset_link(client):
    html = client.get("/accounts/login/").content.decode()

    assert '<label for="id_login">' in html
    assert '<label for="id_password">' in html
    assert 'href="/accounts/password/reset/"' in html
    assert 'class="form form-entrance form-login"' in html


def test_confirmed_member_logs_in_with_email_and_goes_back_to_next(client, ada):
    response = log_in(client, "ada@example.org", PASSWORD, next_url="/papers/trending")

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/papers/trending"
    assert is_signed_in(client)


def test_login_without_next_goes_home(client, ada):
    response = log_in(client, "ADA@example.org", PASSWORD)

    assert response["Location"] == "/"


def test_wrong_password_shows_an_error_on_the_form(client, ada):
    response = log_in(client, "ada@example.org", "not-the-password")

    assert response.status_code == HTTPStatus.OK
    assert "The email address and/or password you specified are not correct." in (
        response.content.decode()
    )
    assert 'role="alert"' in response.content.decode()
    assert not is_signed_in(client)


def test_after_five_failed_attempts_even_the_right_password_is_refused(client, ada):
    for _ in range(5):
        assert log_in(client, "ada@example.org", "guess").status_code == HTTPStatus.OK

    response = log_in(Client(), "ada@example.org", PASSWORD)

    assert response.status_code == HTTPStatus.OK
    assert "Too many failed login attempts. Try again later." in response.content.decode()
    assert not is_signed_in(client)


def test_other_members_can_still_log_in_while_one_address_is_locked(client, ada, alice):
    EmailAddress.objects.create(user=alice, email=alice.email, verified=True, primary=True)
    for _ in range(5):
        log_in(client, "ada@example.org", "guess")

    response = log_in(Client(), "alice@example.org", "pw-alice-123!")

    assert response.status_code == HTTPStatus.FOUND


def test_many_login_posts_from_one_address_get_429(client):
    statuses = [log_in(client, f"m{n}@example.org", "x").status_code for n in range(31)]

    assert statuses[:30] == [HTTPStatus.OK] * 30
    assert statuses[30] == HTTPStatus.TOO_MANY_REQUESTS


def test_logout_by_get_only_asks_for_confirmation(client, ada):
    client.force_login(ada)

    response = client.get("/accounts/logout/")

    assert response.status_code == HTTPStatus.OK
    assert 'method="post"' in response.content.decode()
    assert is_signed_in(client)


def test_logout_by_post_signs_out(client, ada):
    client.force_login(ada)

    response = client.post("/accounts/logout/")

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/"
    assert not is_signed_in(client)


def test_password_reset_mail_sets_a_new_password(client, ada):
    response = client.post("/accounts/password/reset/", {"email": "ada@example.org"})
    assert response.status_code == HTTPStatus.FOUND
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ada@example.org"]

    key_page = client.get(link_in_last_mail("/accounts/password/reset/key/"), follow=True)
    assert key_page.status_code == HTTPStatus.OK
    form_url = key_page.redirect_chain[-1][0]  # the key moves from the URL into the session
    new = "a-brand-new-long-passphrase"
    done = client.post(form_url, {"password1": new, "password2": new})

    assert done.status_code == HTTPStatus.FOUND
    ada.refresh_from_db()
    assert ada.check_password(new)
    assert log_in(Client(), "ada@example.org", new).status_code == HTTPStatus.FOUND
    assert log_in(Client(), "ada@example.org", PASSWORD).status_code == HTTPStatus.OK


def test_password_reset_link_works_only_once(client, ada):
    client.post("/accounts/password/reset/", {"email": "ada@example.org"})
    link = link_in_last_mail("/accounts/password/reset/key/")
    form_url = client.get(link, follow=True).redirect_chain[-1][0]
    new = "a-brand-new-long-passphrase"
    client.post(form_url, {"password1": new, "password2": new})

    again = Client().get(link, follow=True)

    assert "The password reset link was invalid" in again.content.decode()


def test_a_password_reset_for_an_unknown_address_sends_no_mail(client, mailoutbox):
    response = client.post("/accounts/password/reset/", {"email": "stranger@example.org"})

    assert response.status_code == HTTPStatus.FOUND  # the same answer as for a member
    assert mailoutbox == []


def test_an_address_gets_at_most_three_reset_mails_an_hour(client, ada, mailoutbox):
    for n in range(5):
        client.post(
            "/accounts/password/reset/",
            {"email": "ada@example.org"},
            REMOTE_ADDR=f"10.0.0.{n}",  # from different addresses: the limit is the mailbox's
        )

    assert len(mailoutbox) == 3
