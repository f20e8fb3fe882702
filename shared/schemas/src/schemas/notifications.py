"""Events of the notifications service (topic ``notifications.events``, key: recipient id)."""

from __future__ import annotations
