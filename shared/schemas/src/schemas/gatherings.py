"""Events of the gatherings service (topic ``gatherings.events``, key: gathering id)."""

from __future__ import annotations
