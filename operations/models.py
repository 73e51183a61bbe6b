"""What the operations app keeps: which alert went out on which day."""

from __future__ import annotations

from django.db import models


class AlertSent(models.Model):
    """One problem mailed to the admins on one day: never twice the same day."""

    problem = models.CharField(max_length=200, help_text="source:hf, no-papers:2026-06-12 …")
    day = models.DateField()
    subject = models.CharField(max_length=300)
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(fields=["problem", "day"], name="alert_once_a_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day}: {self.problem}"
