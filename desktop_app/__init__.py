"""Tidemill: a desktop automation platform compatible with Windmill."""

__version__ = "0.1.0"

#: The Windmill release whose API Tidemill answers like (its clients read the major and
#: minor numbers of /api/version to pick request shapes: `wmill` takes 0.x for an old server).
WINDMILL_API_VERSION = "1.819.0"
