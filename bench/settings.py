"""Production settings plus one route for the HTTP benchmark's size reference.

`/bench/bytes/<n>` answers n fixed bytes through the same middleware as every page, so a
run can tell how much of an endpoint's cost is only the size of its answer.
"""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
