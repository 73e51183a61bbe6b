"""What the caches must hear about members: every change to a user row or a token."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts.models import ApiToken
from caching import announce
from caching.users import member_scope, token_scope


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="accounts-member-saved")
@receiver(post_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="accounts-member-deleted")
def member_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    """Processes drop their copy of the member (caching/users.py) once this commits."""
    announce(hard=[member_scope(instance.pk)])


@receiver(post_save, sender=ApiToken, dispatch_uid="accounts-token-saved")
@receiver(post_delete, sender=ApiToken, dispatch_uid="accounts-token-deleted")
def token_changed(sender: Any, instance: ApiToken, **kwargs: Any) -> None:
    """Processes drop their copy of the token (caching/users.py) once this commits."""
    announce(hard=[token_scope(instance.key_hash)])
