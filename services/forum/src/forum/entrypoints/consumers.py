"""Subscribers: reputation.events → ``levels``; forum.events → the thread read models."""

from __future__ import annotations

from collections.abc import Sequence

from communitykit.app import Runtime
from communitykit.consumer import BatchConsumer, BatchHandler, Received
from communitykit.levels import LevelsProjection
from schemas import topics

from ..adapters.mongo import ForumDb
from ..projections.media_refs import COLLECTION as MEDIA_REFS
from ..projections.media_refs import MediaRefsProjection
from ..projections.threads import ThreadsProjection


def _consumer(runtime: Runtime, topic: str, group_id: str, handler: BatchHandler) -> BatchConsumer:
    return BatchConsumer(
        runtime.broker,
        [topic],
        group_id=group_id,
        handler=handler,
        producer=runtime.producer,
        max_records=runtime.settings.consumer_max_records,
        retry_seconds=runtime.settings.consumer_retry_seconds,
    )


def register(runtime: Runtime, group_id: str) -> BatchConsumer:
    projection = LevelsProjection(ForumDb(runtime.db).levels)

    async def on_reputation_events(batch: Sequence[Received]) -> None:
        """LevelChanged → levels (newest by (time, id) wins; idempotent)."""
        await projection.apply(batch)

    return _consumer(runtime, topics.REPUTATION_EVENTS, group_id, on_reputation_events)


def register_threads(runtime: Runtime, group_id: str) -> BatchConsumer:
    projection = ThreadsProjection(ForumDb(runtime.db))

    async def on_forum_events(batch: Sequence[Received]) -> None:
        """forum.events (the forum's own) → thread_list, post_stats, thread_tags: one write
        per touched document per batch, its position in the same write; and the commands
        that follow from replies (projections/threads.py)."""
        await projection.apply(batch)

    return _consumer(runtime, topics.FORUM_EVENTS, group_id, on_forum_events)


def register_media(runtime: Runtime, group_id: str) -> BatchConsumer:
    projection = MediaRefsProjection(runtime.db[MEDIA_REFS])

    async def on_media_events(batch: Sequence[Received]) -> None:
        """media.events → media_refs: each item's author, readiness and visibility (one
        ``$set`` upsert per touched item per batch; projections/media_refs.py)."""
        await projection.apply(batch)

    return _consumer(runtime, topics.MEDIA_EVENTS, group_id, on_media_events)
