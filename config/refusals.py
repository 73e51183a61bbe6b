"""The one shape of a write the rules refuse, whatever the app: a message for the member
and the HTTP status that says it (views render it, the API answers it)."""

from __future__ import annotations

from http import HTTPStatus


class Refused(Exception):
    def __init__(self, message: str, status: int = HTTPStatus.BAD_REQUEST) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
