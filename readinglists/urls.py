from __future__ import annotations

from django.urls import path

from papers.urls import ArxivIdConverter, CitationFormatConverter  # noqa: F401 (converters)
from readinglists import feeds, views

app_name = "readinglists"

urlpatterns = [
    path("collections/new", views.new, name="new"),
    path("collections/<str:handle>/<slug:slug>", views.detail, name="detail"),
    path("collections/<str:handle>/<slug:slug>.<citation:fmt>", views.export, name="export"),
    path("collections/<str:handle>/<slug:slug>/edit", views.edit, name="edit"),
    path("collections/<str:handle>/<slug:slug>/delete", views.delete, name="delete"),
    path("collections/<str:handle>/<slug:slug>/editors", views.editors, name="editors"),
    path("collections/<str:handle>/<slug:slug>/feed.atom", feeds.CollectionFeed(), name="feed"),
    path(
        "collections/<str:handle>/<slug:slug>/items/<arxiv:arxiv_id>/<slug:action>",
        views.item,
        name="item",
    ),
    path("papers/<arxiv:arxiv_id>/save", views.save, name="save"),
]
