from __future__ import annotations

from celery import shared_task

from discussions.notifications import notifications_mail_due


@shared_task(name="discussions.mail_notifications")
def mail_notifications() -> int:
    """Mail the mention and reply notifications that are due (beat: every five minutes)."""
    return notifications_mail_due()
