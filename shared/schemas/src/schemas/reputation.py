"""Events published by the reputation service on ``reputation.events`` (SPEC 2.3). Key: user id."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from .envelope import EventData, register


class ReputationEvent(EventData):
    producer: ClassVar[str] = "reputation"


@register
class ReputationChanged(ReputationEvent):
    event_name: ClassVar[str] = "ReputationChanged"
    user_id: str
    delta: int
    total: int = Field(ge=1)
    reason: str
    source_event_id: str


@register
class LevelChanged(ReputationEvent):
    event_name: ClassVar[str] = "LevelChanged"
    user_id: str
    from_level: int = Field(ge=0, le=4)
    to_level: int = Field(ge=0, le=4)


@register
class BadgeAwarded(ReputationEvent):
    event_name: ClassVar[str] = "BadgeAwarded"
    user_id: str
    badge: str
    source_event_id: str
