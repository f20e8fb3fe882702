"""Event contracts shared by every service (the only code the services share with each other)."""

from . import forum, ideas, reputation, topics
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
    "format_time",
    "forum",
    "ideas",
    "new_event",
    "parse",
    "reputation",
    "topics",
]
