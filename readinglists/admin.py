from __future__ import annotations

from django.contrib import admin

from readinglists.models import Collection, CollectionItem


class ItemInline(admin.TabularInline[CollectionItem, Collection]):
    model = CollectionItem
    fields = ("position", "paper", "note", "added_by", "added_at")
    readonly_fields = ("added_at",)
    raw_id_fields = ("paper", "added_by")
    extra = 0


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin[Collection]):
    list_display = ("name", "owner", "visibility", "updated_at")
    list_filter = ("visibility",)
    search_fields = ("name", "owner__username")
    raw_id_fields = ("owner", "editors")
    list_select_related = ("owner",)
    inlines = [ItemInline]
