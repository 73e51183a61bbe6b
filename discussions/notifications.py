"""Mention and reply notifications by mail: one mail per member per interval at most
(NOTIFICATION_MAIL_EVERY_MINUTES), batching everything that happened since, to their
primary address only once it is confirmed, and never when they opted out."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Max
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from discussions.models import Notification

logger = logging.getLogger(__name__)


def _deliverable(user: User) -> bool:
    return (
        user.is_active
        and user.notify_by_email
        and bool(user.email)
        and EmailAddress.objects.filter(user=user, email__iexact=user.email, verified=True).exists()
    )


def notifications_mail_due(*, now: datetime | None = None) -> int:
    """Mail every member whose pending notifications may go out now; how many mails went.

    A member's row is locked while their mail is sent, so two runs never mail them twice;
    notifications for members who cannot be mailed (opted out, address unconfirmed) are
    dropped rather than sent late."""
    now = now or timezone.now()
    every = timedelta(minutes=settings.NOTIFICATION_MAIL_EVERY_MINUTES)
    recipients = list(
        Notification.objects.filter(mailed_at=None)
        .values_list("recipient_id", flat=True)
        .distinct()
        .order_by("recipient_id")
    )
    sent = 0
    for recipient_id in recipients:
        with transaction.atomic():
            user = User.objects.select_for_update(skip_locked=True).filter(pk=recipient_id).first()
            if user is None:
                continue
            last = Notification.objects.filter(recipient=user).aggregate(last=Max("mailed_at"))
            if last["last"] is not None and now - last["last"] < every:
                continue  # mailed recently: these wait for the next mail
            pending = Notification.objects.filter(recipient=user, mailed_at=None)
            if not _deliverable(user):
                pending.delete()
                continue
            items = [
                n
                for n in pending.select_related("comment__paper", "comment__author").order_by(
                    "created_at"
                )
                if n.comment.is_shown and not n.comment.paper.hidden
            ]
            if items:
                _send(user, items)
                sent += 1
            pending.update(mailed_at=now)
    return sent


def _send(user: User, items: list[Notification]) -> None:
    links = [
        {
            "notification": n,
            "url": settings.SITE_URL.rstrip("/")
            + reverse("papers:paper", args=[n.comment.paper.arxiv_id])
            + f"#comment-{n.comment.pk}",
        }
        for n in items
    ]
    context = {
        "user": user,
        "links": links,
        "profile_url": settings.SITE_URL.rstrip("/") + reverse("people:profile"),
    }
    subject = (
        f"{len(items)} new mention{'s' if len(items) != 1 else ''} and replies on Daily Papers"
        if len(items) != 1
        else (
            f"{items[0].comment.author.public_name} "
            f"{'replied to you' if items[0].kind == Notification.Kind.REPLY else 'mentioned you'}"
            " on Daily Papers"
        )
    )
    send_mail(
        subject,
        render_to_string("emails/notifications.txt", context),
        None,
        [user.email],
    )
    logger.info("notifications: mailed %s item(s) to member %s", len(items), user.pk)
