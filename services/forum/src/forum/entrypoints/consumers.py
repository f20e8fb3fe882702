"""Subscribers: reputation.events → the forum's ``levels`` (trust levels)."""

from __future__ import annotations

from collections.abc import Sequence

from communitykit.app import Runtime
from communitykit.consumer import BatchConsumer, Received
from schemas import topics

from ..adapters.mongo import ForumDb
from ..projections.levels import LevelsProjection


def register(runtime: Runtime, group_id: str) -> BatchConsumer:
    projection = LevelsProjection(ForumDb(runtime.db))

    async def on_reputation_events(batch: Sequence[Received]) -> None:
        """LevelChanged → levels (newest by (time, id) wins; idempotent)."""
        await projection.apply(batch)

    return BatchConsumer(
        runtime.broker,
        [topics.REPUTATION_EVENTS],
        group_id=group_id,
        handler=on_reputation_events,
        producer=runtime.producer,
        max_records=runtime.settings.consumer_max_records,
        retry_seconds=runtime.settings.consumer_retry_seconds,
    )
