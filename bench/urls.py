"""The site's URLs and the benchmark's fixed-size answer (see bench/settings.py)."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from config.urls import urlpatterns as site_urlpatterns

_FILLER = b"x" * 1024


def fixed_bytes(request: HttpRequest, size: int) -> HttpResponse:
    """`size` bytes (at most 4 MiB), the same every time."""
    size = min(size, 4 * 2**20)
    return HttpResponse(_FILLER * (size // len(_FILLER)) + _FILLER[: size % len(_FILLER)])


urlpatterns = [path("bench/bytes/<int:size>", fixed_bytes), *site_urlpatterns]
