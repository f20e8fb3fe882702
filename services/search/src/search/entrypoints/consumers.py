"""Subscriber: forum.events + ideas.events → the index.

The kit's batch consumer parses, dead-letters poison records and commits the group's
offsets after the handler. For this projection the group's offsets are NOT the position:
the index is (it may be a new, empty disk while the group has committed a lot). So on every
assignment each partition is sought to the position stored in the index; a partition the
index has never read starts at the beginning (``SEARCH_START_FROM=earliest``, production)
or at the end (``latest``, tests), and that start is recorded in the index first.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition

from communitykit.app import Runtime
from communitykit.consumer import BatchConsumer, Received

from ..config import Settings
from ..projection import IndexProjection

log = logging.getLogger(__name__)


class SeekToIndex(ConsumerRebalanceListener):  # type: ignore[misc]
    """Seeks every assigned partition to the index's position (see module docstring)."""

    def __init__(self, projection: IndexProjection, start_from: str) -> None:
        self.projection = projection
        self.start_from = start_from
        self.consumer: BatchConsumer | None = None

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        pass  # nothing to flush: every batch is committed to the index before it is acked

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        assert self.consumer is not None
        kafka: AIOKafkaConsumer = self.consumer.subscriber.consumer
        position = self.projection.position
        unknown = [tp for tp in assigned if position(tp.topic, tp.partition) is None]
        if unknown:
            edge = (
                await kafka.beginning_offsets(unknown)
                if self.start_from == "earliest"
                else await kafka.end_offsets(unknown)
            )
            await self.projection.start_at({(tp.topic, tp.partition): o for tp, o in edge.items()})
            log.info("index starts %d new partition(s) at the %s", len(unknown), self.start_from)
        for tp in assigned:
            pos = self.projection.position(tp.topic, tp.partition)
            assert pos is not None
            kafka.seek(tp, pos)


def release_freed_memory() -> bool:
    """Give the pages malloc holds free back to the system (glibc ``malloc_trim``). A batch's
    records, states and documents are freed once it is committed, but glibc keeps their
    pages, so without this the resident set keeps the high-water mark of every batch so far
    plus the fragmentation between them. A no-op where the C library is not glibc."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        return bool(ctypes.CDLL(name).malloc_trim(0))
    except (OSError, AttributeError):
        return False


def register(runtime: Runtime, projection: IndexProjection) -> BatchConsumer:
    settings = runtime.settings
    assert isinstance(settings, Settings)
    listener = SeekToIndex(projection, settings.start_from)

    async def on_events(batch: Sequence[Received]) -> None:
        """forum.events, ideas.events → thread and idea documents + the position (one commit)."""
        await projection.apply(batch)
        if settings.malloc_trim:
            release_freed_memory()

    consumer = BatchConsumer(
        runtime.broker,
        settings.topic_list,
        group_id=settings.consumer_group,
        handler=on_events,
        producer=runtime.producer,
        max_records=settings.consumer_max_records,
        retry_seconds=settings.consumer_retry_seconds,
        listener=listener,
    )
    listener.consumer = consumer
    return consumer
