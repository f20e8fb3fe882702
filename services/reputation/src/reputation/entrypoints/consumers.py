"""Subscribers: forum.events + ideas.events + gatherings.events + media.events → the users
projection (the one list of sources, ``SOURCES``, is also the rebuild's)."""

from __future__ import annotations

from communitykit.app import Runtime
from communitykit.consumer import BatchConsumer
from schemas import topics

from ..adapters.mongo import ReputationDb
from ..projections.users import UsersProjection

#: every topic the projection reads: live and in `make rebuild`
SOURCES = (topics.FORUM_EVENTS, topics.IDEAS_EVENTS, topics.GATHERINGS_EVENTS, topics.MEDIA_EVENTS)


def register(runtime: Runtime, group_id: str) -> BatchConsumer:
    projection = UsersProjection(ReputationDb(runtime.db))

    async def on_events(batch):  # type: ignore[no-untyped-def]
        """forum/ideas/gatherings/media events → facts, users (idempotent per event id)."""
        await projection.apply(batch)
        runtime.notify_outbox()

    return BatchConsumer(
        runtime.broker,
        list(SOURCES),
        group_id=group_id,
        handler=on_events,
        producer=runtime.producer,
        max_records=runtime.settings.consumer_max_records,
        retry_seconds=runtime.settings.consumer_retry_seconds,
    )
