"""Event contracts shared by every service (the only code the services share with each other)."""

from . import (
    analytics,
    forum,
    gatherings,
    ideas,
    media,
    notifications,
    reputation,
    search,
    topics,
)
from .envelope import (
    CONTENT_TYPE,
    EVENT_TYPES,
    Envelope,
    EventData,
    PoisonEventError,
    UnknownEventTypeError,
    format_time,
    new_event,
    parse,
)

__all__ = [
    "CONTENT_TYPE",
    "EVENT_TYPES",
    "Envelope",
    "EventData",
    "PoisonEventError",
    "UnknownEventTypeError",
    "analytics",
    "format_time",
    "forum",
    "gatherings",
    "ideas",
    "media",
    "new_event",
    "notifications",
    "parse",
    "reputation",
    "search",
    "topics",
]
