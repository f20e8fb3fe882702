"""Subscriber: reputation.events, forum.events and our own gatherings.events → projections."""

from __future__ import annotations

from collections.abc import Sequence

from communitykit.app import Runtime
from communitykit.consumer import BatchConsumer, Received
from schemas import topics

from ..projections.facts import Facts

SOURCES = [topics.REPUTATION_EVENTS, topics.FORUM_EVENTS, topics.GATHERINGS_EVENTS]


def register(runtime: Runtime, group_id: str) -> BatchConsumer:
    projection = Facts(runtime.db)

    async def on_events(batch: Sequence[Received]) -> None:
        """LevelChanged → levels; GroupCreated → group_owners; RsvpChanged → rsvps
        (all idempotent; see projections/facts.py)."""
        await projection.apply(batch)

    return BatchConsumer(
        runtime.broker,
        SOURCES,
        group_id=group_id,
        handler=on_events,
        producer=runtime.producer,
        max_records=runtime.settings.consumer_max_records,
        retry_seconds=runtime.settings.consumer_retry_seconds,
    )
