"""Steps shared by the account tests: signing up, reading links out of mail."""

from __future__ import annotations

import re
from http import HTTPStatus

from django.core import mail
from django.test import Client

PASSWORD = "correct-horse-battery-staple"


def link_in_last_mail(path_prefix: str) -> str:
    """The path of the first link in the last mail that starts with `path_prefix`."""
    assert mail.outbox, "no mail was sent"
    body = mail.outbox[-1].body
    match = re.search(rf"https?://testserver({re.escape(path_prefix)}\S*)", body)
    assert match, body
    return match.group(1)


def sign_up(client: Client, email: str, password: str = PASSWORD) -> None:
    """Sign up through the form; the confirmation mail is the last one sent."""
    response = client.post(
        "/accounts/signup/", {"email": email, "password1": password, "password2": password}
    )
    assert response.status_code == HTTPStatus.FOUND, response.content.decode()
    assert response["Location"] == "/accounts/confirm-email/"


def is_signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session
