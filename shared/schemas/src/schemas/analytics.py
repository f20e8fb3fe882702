"""Events of the analytics service (topic ``analytics.events``, key: the product or
tag the alert is about), version 1: listening's alerts for staff.

Both are system events (no ``actorid``), each published at most once per spike: the alert
id is derived from (kind, dimension, key, UTC day) and recorded with its outbox entry in one
insert, so a redelivered batch or a rebuild never publishes the same spike again.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from .envelope import EventData, register

#: what a spike is about
Dimension = Literal["product", "tag"]


class AnalyticsEvent(EventData):
    producer: ClassVar[str] = "analytics"


@register
class TrendDetected(AnalyticsEvent):
    """More questions than usual on one product or tag on one UTC day."""

    event_name: ClassVar[str] = "TrendDetected"
    alert_id: str
    dimension: Dimension
    #: the product id or the tag (the Kafka key)
    key: str
    #: the UTC day of the spike
    day: str = Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
    #: questions that day when the spike was detected
    count: int = Field(ge=0)
    #: mean questions per day over the baseline days before it
    baseline: float = Field(ge=0)
    baseline_days: int = Field(ge=1)
    #: count ÷ max(baseline, 1)
    lift: float = Field(ge=0)
    #: a few of the spike's threads
    thread_ids: list[str] = Field(default_factory=list)


@register
class SentimentDropped(AnalyticsEvent):
    """More negative posts than usual on one product or tag on one UTC day."""

    event_name: ClassVar[str] = "SentimentDropped"
    alert_id: str
    dimension: Dimension
    key: str
    day: str = Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
    #: negative posts (VADER compound <= -0.05) that day when detected
    count: int = Field(ge=0)
    #: mean negative posts per day over the baseline days
    baseline: float = Field(ge=0)
    baseline_days: int = Field(ge=1)
    lift: float = Field(ge=0)
    #: mean compound score of that day's posts, and of the baseline days' posts
    mean_compound: float = Field(ge=-1, le=1)
    baseline_mean_compound: float | None = Field(default=None, ge=-1, le=1)
    thread_ids: list[str] = Field(default_factory=list)
