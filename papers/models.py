from __future__ import annotations

from datetime import date

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import F, Q

from papers import categories as _categories  # noqa: F401  (registers `__includes`)


class PaperQuerySet(models.QuerySet["Paper"]):
    def visible(self) -> PaperQuerySet:
        return self.filter(hidden=False)

    def listed_between(self, first: date, last: date) -> PaperQuerySet:
        return self.filter(listed_on__range=(first, last))

    def by_votes(self) -> PaperQuerySet:
        """Local plus Hugging Face votes, most first; newest first among equals."""
        return self.alias(total_votes=F("upvote_count") + F("source_upvotes")).order_by(
            "-total_votes", "-published_at", "-id"
        )


class Paper(models.Model):
    """An arXiv paper as listed in the daily feed."""

    arxiv_id = models.CharField("arXiv id", max_length=64, unique=True)
    version = models.PositiveIntegerField(null=True, blank=True, help_text="Latest arXiv version")
    title = models.TextField()
    abstract = models.TextField(blank=True)
    authors = models.JSONField(default=list, blank=True, help_text="Ordered list of authors")
    published_at = models.DateTimeField(null=True, blank=True, help_text="First arXiv version")
    source_updated_at = models.DateTimeField(null=True, blank=True)
    listed_on = models.DateField(help_text="The day it is featured in the daily feed")
    primary_category = models.CharField(max_length=64, blank=True)
    categories = models.JSONField(default=list, blank=True)

    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="submitted_papers",
    )
    source_submitter = models.JSONField(
        null=True, blank=True, help_text="Who submitted it on Hugging Face"
    )
    organization = models.JSONField(null=True, blank=True)
    github_repo = models.URLField(max_length=500, blank=True)
    github_stars = models.PositiveIntegerField(null=True, blank=True)
    project_page = models.URLField(max_length=500, blank=True)
    ai_summary = models.TextField(blank=True)
    ai_keywords = models.JSONField(default=list, blank=True)
    thumbnail_url = models.URLField(max_length=500, blank=True)

    upvote_count = models.PositiveIntegerField(
        default=0, editable=False, help_text="Local upvotes: always the number of Upvote rows"
    )
    source_upvotes = models.PositiveIntegerField(
        default=0, help_text="Community upvotes on Hugging Face"
    )
    comment_count = models.PositiveIntegerField(
        default=0, editable=False, help_text="Comments here: always the shown Comment rows"
    )
    source_comments = models.PositiveIntegerField(default=0, help_text="Comments on Hugging Face")
    hidden = models.BooleanField(default=False, help_text="Hidden by a moderator")

    # Filled by a database trigger on PostgreSQL (see migration 0002); unused on SQLite.
    search_vector = SearchVectorField(null=True, editable=False)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PaperQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(
                F("listed_on"),
                (F("upvote_count") + F("source_upvotes")).desc(),
                name="paper_listed_votes",
            ),
            models.Index(fields=["-published_at"], name="paper_published"),
            models.Index(fields=["-upvote_count"], name="paper_upvotes"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(title=""), name="paper_title_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.arxiv_id}: {self.title[:80]}"

    @property
    def votes(self) -> int:
        return self.upvote_count + self.source_upvotes

    @property
    def arxiv_url(self) -> str:
        return f"https://arxiv.org/abs/{self.arxiv_id}"

    @property
    def pdf_url(self) -> str:
        return f"https://arxiv.org/pdf/{self.arxiv_id}"

    @property
    def author_names(self) -> list[str]:
        return [a["name"] for a in self.authors]


class Upvote(models.Model):
    """One member's vote for one paper."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="upvotes"
    )
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="upvotes")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "paper"], name="upvote_once_per_user"),
        ]
        indexes = [models.Index(fields=["user", "-created_at"], name="upvote_user_recent")]

    def __str__(self) -> str:
        return f"{self.user} ↑ {self.paper.arxiv_id}"


class IngestRun(models.Model):
    """One ingestion, manual or scheduled, with what it did."""

    class Status(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    source = models.CharField(max_length=32)
    parameters = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    rejections = models.JSONField(
        default=list, blank=True, help_text="The first rejected records with their reasons"
    )
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["source", "-started_at"], name="ingestrun_source_recent")]

    def __str__(self) -> str:
        return f"{self.source} {self.started_at:%Y-%m-%d %H:%M} {self.status}"

    @property
    def summary(self) -> str:
        return (
            f"created {self.created}, updated {self.updated}, "
            f"unchanged {self.unchanged}, rejected {self.rejected}"
        )


class Harvest(models.Model):
    """A harvest of arXiv over OAI-PMH: its window and where it stands.

    Each page's papers and the token of the next page are saved in one transaction, so a
    harvest stopped anywhere resumes at the page it had not finished; `updated_at` moves
    with every page: a harvest silent for long, or whose process is gone, is taken over."""

    class Status(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    metadata_prefix = models.CharField(max_length=16)
    set_spec = models.CharField(max_length=64, blank=True, help_text="Empty: all of arXiv")
    since = models.DateField(null=True, blank=True, help_text="First datestamp (inclusive)")
    until = models.DateField(null=True, blank=True, help_text="Last datestamp (inclusive)")
    token = models.CharField(
        max_length=1000, blank=True, help_text="Resumption token of the next page"
    )
    pages = models.PositiveIntegerField(default=0)
    records = models.PositiveIntegerField(default=0)
    deleted = models.PositiveIntegerField(default=0, help_text="Records deleted at the source")
    complete_size = models.PositiveIntegerField(
        null=True, blank=True, help_text="Records in the whole list, as the source says"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    error = models.TextField(blank=True)
    run = models.ForeignKey(
        IngestRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    owner = models.CharField(
        max_length=300, blank=True, help_text="host:pid of the process harvesting it"
    )
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["status", "-started_at"], name="harvest_status_recent")]

    def __str__(self) -> str:
        window = f"{self.since or '…'} to {self.until or '…'}"
        return f"{self.metadata_prefix} {self.set_spec or 'all'} {window} {self.status}"


class AuthorClaim(models.Model):
    """A member saying "this author of this paper is me": staff approve or reject it (with
    a reason); a rejected claim can be made again, as a new claim."""

    class Status(models.TextChoices):
        PENDING = "pending", "waiting for a moderator"
        APPROVED = "approved", "approved"
        REJECTED = "rejected", "rejected"

    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="claims")
    author_index = models.PositiveIntegerField(help_text="The author's place in the paper's list")
    author_name = models.CharField(max_length=300, help_text="The name as the paper lists it")
    author_key = models.CharField(
        max_length=300, db_index=True, help_text="What makes spellings one author"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="author_claims"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    reason = models.TextField(
        blank=True, max_length=1000, help_text="Why it was rejected (the member sees it)"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True, editable=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["paper", "author_index"],
                condition=Q(status="approved"),
                name="claim_one_approved_per_author",
            ),
            models.UniqueConstraint(
                fields=["paper", "user"],
                condition=Q(status__in=["pending", "approved"]),
                name="claim_one_open_per_member_and_paper",
            ),
        ]
        indexes = [models.Index(fields=["user", "-created_at"], name="claim_user_recent")]

    def __str__(self) -> str:
        return f"{self.user} as {self.author_name} on {self.paper.arxiv_id}"


class Follow(models.Model):
    """A member following an author (by the author key: every spelling), a topic (a word
    or phrase, matched as search matches it) or another member (what they submit and
    author): their "Following" feed and their digests show it."""

    class Kind(models.TextChoices):
        AUTHOR = "author", "author"
        TOPIC = "topic", "topic"
        MEMBER = "member", "member"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follows"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    key = models.CharField(
        max_length=200, help_text="The author key, the topic in lower case, or the member's id"
    )
    label = models.CharField(max_length=200, help_text="As the member named it")
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="followers",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "label", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "key"], name="follow_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user} follows {self.kind} {self.label}"


class PaperEmbedding(models.Model):
    """A paper's vector (papers/embeddings.py): normalised float16, with the model that
    made it."""

    paper = models.OneToOneField(
        Paper, on_delete=models.CASCADE, primary_key=True, related_name="embedding"
    )
    model = models.CharField(max_length=64)
    digest = models.CharField(max_length=32, help_text="Of the text embedded")
    vector = models.BinaryField()
    updated_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.paper_id} ({self.model})"
