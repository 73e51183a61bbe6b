"""A real SMTP server on 127.0.0.1 for the mail tests, and eager Celery for this package."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.db import connections


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    """An aiosmtpd handler that keeps every accepted message and can refuse on demand."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refusals: dict[int, str] = {}  # n-th RCPT (counted from 1) -> the reply
        # Called with the number of each accepted message, before the server answers.
        self.on_data: Callable[[int], None] | None = None
        self.rcpt_seen = 0
        self._lock = threading.Lock()

    def refuse_rcpt(self, n: int, reply: str = "451 4.3.0 Try again later") -> None:
        """Refuse the n-th RCPT TO from now on with `reply`."""
        self.refusals[self.rcpt_seen + n] = reply

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        with self._lock:
            self.rcpt_seen += 1
            reply = self.refusals.pop(self.rcpt_seen, None)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        with self._lock:
            self.messages.append(message)  # type: ignore[arg-type]
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            number = len(self.messages)
        if self.on_data is not None:
            # In a thread of its own: the callback may use the database (synchronously).
            await asyncio.to_thread(self._call, self.on_data, number)
        return "250 Message accepted for delivery"

    @staticmethod
    def _call(callback: Callable[[int], None], number: int) -> None:
        try:
            callback(number)
        finally:
            connections.close_all()

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def count_by_recipient(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for message in self.messages:
            counts[message["To"]] = counts.get(message["To"], 0) + 1
        return counts


@pytest.fixture
def smtp(settings) -> Iterator[Inbox]:
    """A local SMTP server; Django's SMTP backend points at it."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture(autouse=True)
def _digest_settings(settings) -> None:
    settings.SITE_URL = "https://papers.example.org"
    settings.DEFAULT_FROM_EMAIL = "Daily Papers <digests@papers.example.org>"
    settings.DIGEST_TOP_N = 5
    settings.DIGEST_BATCH_SIZE = 3


def text_part(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]


def html_part(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]


def subject(message: EmailMessage) -> str:
    """The decoded subject (Django folds a long encoded subject onto the next line)."""
    return str(message["Subject"]).strip()


def header(message: EmailMessage, name: str) -> str:
    """A header's value, unfolded (a long one starts on the line after its name)."""
    return str(message[name]).strip()
