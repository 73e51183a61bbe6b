from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponseRedirect

from accounts.models import User
from papers import caching
from papers.caching import PaperRef, Touched
from papers.claims import ClaimRefused, decide_claim
from papers.models import AuthorClaim, Harvest, IngestRun, Paper, Upvote


@admin.register(Paper)
class PaperAdmin(admin.ModelAdmin[Paper]):
    list_display = (
        "arxiv_id",
        "title",
        "listed_on",
        "upvote_count",
        "source_upvotes",
        "hidden",
        "updated_at",
    )
    list_filter = ("hidden", "listed_on", "primary_category")
    search_fields = ("arxiv_id", "title", "abstract")
    date_hierarchy = "listed_on"
    readonly_fields = ("upvote_count", "created_at", "updated_at")
    raw_id_fields = ("submitted_by",)
    actions = ("hide", "unhide")
    list_per_page = 50

    def save_model(
        self, request: HttpRequest, obj: Paper, form: ModelForm[Paper], change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        touched: list[Touched] = [obj]
        if change and form.initial.get("listed_on") not in (None, obj.listed_on):
            touched.append(PaperRef(obj.arxiv_id, form.initial["listed_on"]))  # it moved
        caching.changed(papers=touched, catalog=True, hard=True)  # moderation shows at once

    @admin.action(description="Hide the selected papers", permissions=["change"])
    def hide(self, request: HttpRequest, queryset: QuerySet[Paper]) -> None:
        count = self._set_hidden(queryset, hidden=True)
        self.message_user(request, f"Hid {count} papers.", messages.SUCCESS)

    @admin.action(description="Show the selected papers again", permissions=["change"])
    def unhide(self, request: HttpRequest, queryset: QuerySet[Paper]) -> None:
        count = self._set_hidden(queryset, hidden=False)
        self.message_user(request, f"Unhid {count} papers.", messages.SUCCESS)

    @staticmethod
    def _set_hidden(queryset: QuerySet[Paper], *, hidden: bool) -> int:
        touched = [PaperRef(*row) for row in queryset.values_list("arxiv_id", "listed_on")]
        count = queryset.update(hidden=hidden)
        caching.changed(papers=touched, catalog=True, hard=True)  # moderation shows at once
        return count


@admin.register(Upvote)
class UpvoteAdmin(admin.ModelAdmin[Upvote]):
    list_display = ("paper", "user", "created_at")
    search_fields = ("paper__arxiv_id", "user__username")
    raw_id_fields = ("paper", "user")
    list_select_related = ("paper", "user")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # votes change counters: they go through the site or the API

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(IngestRun)
class IngestRunAdmin(admin.ModelAdmin[IngestRun]):
    list_display = (
        "started_at",
        "source",
        "status",
        "created",
        "updated",
        "unchanged",
        "rejected",
        "finished_at",
    )
    list_filter = ("status", "source")
    search_fields = ("error",)
    readonly_fields = [f.name for f in IngestRun._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Harvest)
class HarvestAdmin(admin.ModelAdmin[Harvest]):
    """OAI-PMH harvests and where each stands; `manage.py ingest oai` resumes one."""

    list_display = (
        "started_at",
        "metadata_prefix",
        "set_spec",
        "since",
        "until",
        "status",
        "pages",
        "records",
        "complete_size",
        "updated_at",
    )
    list_filter = ("status", "metadata_prefix")
    readonly_fields = [f.name for f in Harvest._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class ClaimDecisionForm(forms.ModelForm[AuthorClaim]):
    """A moderator's decision: approve, or reject with the reason the member is shown."""

    status = forms.ChoiceField(
        label="decision",
        choices=[
            (AuthorClaim.Status.APPROVED, "approve"),
            (AuthorClaim.Status.REJECTED, "reject (say why below)"),
        ],
        widget=forms.RadioSelect,
    )

    class Meta:
        model = AuthorClaim
        fields = ("status", "reason")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("status") == AuthorClaim.Status.REJECTED and not data.get("reason", "").strip():
            self.add_error("reason", "Say why the claim is rejected: the member is shown it.")
        return data


@admin.register(AuthorClaim)
class AuthorClaimAdmin(admin.ModelAdmin[AuthorClaim]):
    """The claims queue, waiting ones first: open one to approve or reject it."""

    form = ClaimDecisionForm
    list_display = ("created_at", "user", "author_name", "paper", "status", "decided_at")
    list_filter = ("status",)
    list_select_related = ("user", "paper")
    search_fields = ("author_name", "user__username", "paper__arxiv_id")
    readonly_fields = ("paper", "author_name", "user", "created_at", "decided_at", "decided_by")
    fields = ("paper", "author_name", "user", "created_at", "status", "reason")
    actions = ("approve",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # members claim on the paper page, or through the API

    def save_model(
        self, request: HttpRequest, obj: AuthorClaim, form: ModelForm[AuthorClaim], change: bool
    ) -> None:
        decide_claim(
            claim=obj,
            approve=obj.status == AuthorClaim.Status.APPROVED,
            reason=obj.reason,
            by=cast(User, request.user),
        )

    def changeform_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().changeform_view(request, *args, **kwargs)
        except ClaimRefused as refused:
            self.message_user(request, refused.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    @admin.action(description="Approve the selected claims", permissions=["change"])
    def approve(self, request: HttpRequest, queryset: QuerySet[AuthorClaim]) -> None:
        done = 0
        for claim in queryset.select_related("paper").exclude(status=AuthorClaim.Status.APPROVED):
            try:
                decide_claim(claim=claim, approve=True, reason="", by=cast(User, request.user))
                done += 1
            except ClaimRefused as refused:
                self.message_user(request, refused.message, messages.WARNING)
        self.message_user(request, f"Approved {done} claims.", messages.SUCCESS)
