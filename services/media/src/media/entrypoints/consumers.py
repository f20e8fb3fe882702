"""Subscribers: reputation.events → ``levels`` (quotas), forum.events → ``attachments``
(posts that show media); media.events → the processing worker (MediaUploaded) and
``attachments`` (GalleryItemAdded/Removed)."""

from __future__ import annotations

from collections.abc import Sequence

from communitykit.consumer import BatchConsumer, Received
from communitykit.levels import LevelsProjection
from schemas import topics
from schemas.media import MediaUploaded

from ..adapters.mongo import MediaDb
from ..adapters.repository import Repos
from ..config import Settings
from ..projections.attachments import AttachmentsProjection
from ..runtime import MediaRuntime
from ..worker import Worker


def register_levels(runtime: MediaRuntime, settings: Settings) -> BatchConsumer:
    db = MediaDb(runtime.db)
    projection = LevelsProjection(db.levels)
    attachments = AttachmentsProjection(db)

    async def on_other_events(batch: Sequence[Received]) -> None:
        """LevelChanged → levels (newest by (time, id) wins; idempotent); PostCreated with
        media_ids → attachments (idempotent ``$set``). Each ignores the other's events."""
        await projection.apply(batch)
        await attachments.apply(batch)

    return BatchConsumer(
        runtime.broker,
        [topics.REPUTATION_EVENTS, topics.FORUM_EVENTS],
        group_id=settings.consumer_group,
        handler=on_other_events,
        producer=runtime.producer,
        max_records=settings.consumer_max_records,
        retry_seconds=settings.consumer_retry_seconds,
    )


def register_worker(runtime: MediaRuntime, settings: Settings) -> BatchConsumer:
    db = MediaDb(runtime.db)
    worker = Worker(Repos(db), runtime.storage, settings)
    attachments = AttachmentsProjection(db)

    async def on_media_events(batch: Sequence[Received]) -> None:
        """MediaUploaded → process (one guarded transition each); gallery item events →
        attachments. A failure retries the whole batch: both steps are idempotent."""
        await attachments.apply(batch)
        seen: set[str] = set()
        for r in batch:
            d = r.event.data
            if isinstance(d, MediaUploaded) and d.media_id not in seen:
                seen.add(d.media_id)
                await worker.handle(d.media_id)
        runtime.notify_outbox()

    return BatchConsumer(
        runtime.broker,
        [topics.MEDIA_EVENTS],
        group_id=settings.worker_group,
        handler=on_media_events,
        producer=runtime.producer,
        max_records=settings.worker_batch,
        retry_seconds=settings.consumer_retry_seconds,
    )
