"""An Atom feed of a paper's discussion: its newest comments and replies."""

from __future__ import annotations

from datetime import datetime

from django.contrib.syndication.views import Feed
from django.http import HttpRequest
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed

from discussions.models import Comment
from papers.models import Paper
from papers.views import paper_or_404

FEED_SIZE = 50


class DiscussionFeed(Feed[Comment, Paper]):
    feed_type = Atom1Feed

    def get_object(self, request: HttpRequest, arxiv_id: str) -> Paper:
        return paper_or_404(arxiv_id)

    def title(self, paper: Paper) -> str:
        return f"Discussion: {paper.title}"

    def link(self, paper: Paper) -> str:
        return reverse("papers:paper", args=[paper.arxiv_id]) + "#discussion"

    def subtitle(self, paper: Paper) -> str:
        return f"Comments on arXiv:{paper.arxiv_id}"

    def items(self, paper: Paper) -> list[Comment]:
        return list(
            Comment.objects.shown()
            .filter(paper=paper)
            .select_related("author")
            .order_by("-created_at")[:FEED_SIZE]
        )

    def item_title(self, item: Comment) -> str:
        kind = "Reply" if item.parent_id else "Comment"
        return f"{kind} by {item.author.public_name}"

    def item_description(self, item: Comment) -> str:
        # The sanitised HTML (discussions/rendering.py); the feed escapes it as text/html.
        return item.html

    def item_link(self, item: Comment) -> str:
        return reverse("papers:paper", args=[item.paper.arxiv_id]) + f"#comment-{item.pk}"

    def item_guid(self, item: Comment) -> str:
        return f"comment-{item.pk}"

    item_guid_is_permalink = False

    def item_author_name(self, item: Comment) -> str:
        return item.author.public_name

    def item_pubdate(self, item: Comment) -> datetime:
        return item.created_at

    def item_updateddate(self, item: Comment) -> datetime:
        return item.edited_at or item.created_at
