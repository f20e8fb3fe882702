"""Subscriber: forum, ideas, reputation, gatherings and notifications events → the metric
projections."""

from __future__ import annotations

from collections.abc import Sequence

from communitykit.app import Runtime
from communitykit.consumer import BatchConsumer, Received
from schemas import topics

from ..adapters.mongo import AnalyticsDb
from ..projections.store import MetricsProjection

SOURCES = (
    topics.FORUM_EVENTS,
    topics.IDEAS_EVENTS,
    topics.REPUTATION_EVENTS,
    topics.GATHERINGS_EVENTS,
    topics.NOTIFICATIONS_EVENTS,
)


def register(runtime: Runtime, group_id: str) -> BatchConsumer:
    projection = MetricsProjection(AnalyticsDb(runtime.db))

    async def on_events(batch: Sequence[Received]) -> None:
        """forum/ideas/reputation/gatherings/notifications events → days, day_users,
        threads, ideas, reviews, users, staff, gatherings, attendees (idempotent per
        partition offset, inside each document's own update)."""
        await projection.apply(batch)

    return BatchConsumer(
        runtime.broker,
        list(SOURCES),
        group_id=group_id,
        handler=on_events,
        producer=runtime.producer,
        max_records=runtime.settings.consumer_max_records,
        retry_seconds=runtime.settings.consumer_retry_seconds,
    )
