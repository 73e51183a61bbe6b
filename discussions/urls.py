from __future__ import annotations

from django.urls import path

from discussions import feeds, views
from papers.urls import ArxivIdConverter  # noqa: F401 (registers the `arxiv` converter)

app_name = "discussions"

urlpatterns = [
    path("discussions", views.recent, name="recent"),
    path("papers/<arxiv:arxiv_id>/comments", views.post, name="post"),
    path("papers/<arxiv:arxiv_id>/discussion.atom", feeds.DiscussionFeed(), name="paper-feed"),
    path("comments/<int:comment_id>/reply", views.reply, name="reply"),
    path("comments/<int:comment_id>/edit", views.edit, name="edit"),
    path("comments/<int:comment_id>/delete", views.delete, name="delete"),
    path("comments/<int:comment_id>/react", views.react, name="react"),
    path("comments/<int:comment_id>/report", views.report, name="report"),
]
