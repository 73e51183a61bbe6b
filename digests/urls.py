from __future__ import annotations

app_name = "digests"

urlpatterns: list = []
