"""Events of the media service (topic ``media.events``, key: media id; gallery id for gallery events)."""

from __future__ import annotations
