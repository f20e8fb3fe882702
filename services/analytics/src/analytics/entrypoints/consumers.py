"""Subscriber: forum, ideas, reputation, gatherings and notifications events → the metric
projections."""

from __future__ import annotations

from collections.abc import Sequence

from communitykit.app import Runtime
from communitykit.consumer import BatchConsumer, Received
from schemas import topics

from ..adapters.mongo import AnalyticsDb
from ..influence.projection import InfluenceProjection
from ..listening.projection import ListeningProjection
from ..projections.store import MetricsProjection

#: the metric projections' topics
METRIC_SOURCES = (
    topics.FORUM_EVENTS,
    topics.IDEAS_EVENTS,
    topics.REPUTATION_EVENTS,
    topics.GATHERINGS_EVENTS,
    topics.NOTIFICATIONS_EVENTS,
)
#: listening also reads the search service's query log (issue 26: same consumer, same rebuild)
SOURCES = (*METRIC_SOURCES, topics.SEARCH_EVENTS)


def metric_records(batch: Sequence[Received]) -> Sequence[Received]:
    """The records the metric projections read (search.events is listening's alone)."""
    return [r for r in batch if r.topic != topics.SEARCH_EVENTS]


def register(runtime: Runtime, group_id: str) -> BatchConsumer:
    projection = MetricsProjection(AnalyticsDb(runtime.db))
    influence = InfluenceProjection(runtime.db)
    listening = ListeningProjection(runtime.db, on_published=runtime.notify_outbox)

    async def on_events(batch: Sequence[Received]) -> None:
        """forum/ideas/reputation/gatherings/notifications events → days, day_users,
        threads, ideas, reviews, users, staff, gatherings, attendees (idempotent per
        partition offset, inside each document's own update); the who-helped-whom facts
        (analytics.influence); forum/ideas/search events → listening (its own positions;
        alerts through the outbox)."""
        metric = metric_records(batch)
        await projection.apply(metric)
        await influence.apply(metric)
        await listening.apply(batch)

    return BatchConsumer(
        runtime.broker,
        list(SOURCES),
        group_id=group_id,
        handler=on_events,
        producer=runtime.producer,
        max_records=runtime.settings.consumer_max_records,
        retry_seconds=runtime.settings.consumer_retry_seconds,
    )
