"""forum.events + ideas.events → the index, exactly once (a batch, one commit).

Per batch: drop the records the index already covers (its stored position), load the
committed state of every document the batch touches (one query), fold the events in order,
and write the changed documents together with the new position in one tantivy commit.
A crash before the commit leaves the index and its position as they were, and the consumer
resumes from that position (:class:`search.entrypoints.consumers.SeekToIndex`), so a record
is applied once, whatever happens: kill -9, redelivery, a batch retried after an error.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Sequence
from typing import Any

from communitykit.consumer import Received

from .adapters.index import Offsets, SearchIndex
from .domain import documents

log = logging.getLogger(__name__)


class IndexProjection:
    """The one writer of an index. ``apply`` runs the blocking work in a worker thread."""

    def __init__(self, index: SearchIndex) -> None:
        self.index = index
        meta = index.meta()
        #: the committed position (topic → partition → next offset) and where it started
        self.offsets: Offsets = meta.get("offsets", {})
        self.origin: Offsets = meta.get("origin", {})
        self._lock = asyncio.Lock()

    def position(self, topic: str, partition: int) -> int | None:
        return self.offsets.get(topic, {}).get(str(partition))

    async def start_at(self, starts: dict[tuple[str, int], int]) -> None:
        """Record where partitions the index has never read start (its origin), durably."""
        async with self._lock:
            offsets, origin = copy.deepcopy(self.offsets), copy.deepcopy(self.origin)
            for (topic, partition), off in starts.items():
                offsets.setdefault(topic, {})[str(partition)] = off
                origin.setdefault(topic, {})[str(partition)] = off
            await asyncio.to_thread(self.index.write, {}, set(), _meta(offsets, origin))
            self.offsets, self.origin = offsets, origin

    async def apply(self, batch: Sequence[Received]) -> int:
        """Index a batch; returns how many events it applied (duplicates are skipped)."""
        async with self._lock:
            return await asyncio.to_thread(self.apply_sync, batch)

    def apply_sync(self, batch: Sequence[Received]) -> int:
        offsets = copy.deepcopy(self.offsets)
        todo: list[tuple[str, Any]] = []
        for r in batch:
            parts = offsets.setdefault(r.topic, {})
            if r.offset < parts.get(str(r.partition), 0):
                continue  # already in the index (a redelivery)
            parts[str(r.partition)] = r.offset + 1
            key = documents.key_of(r.event.data)
            if key is not None:
                todo.append((key, r.event.data))
        if offsets == self.offsets:
            return 0
        # one query for every document the batch touches; the others are new
        keys = {key for key, _ in todo}
        states = self.index.load(keys)
        fresh = keys - states.keys()
        for key, data in todo:
            state = states.get(key)
            if state is None:
                state = states[key] = documents.new_state(key)
            documents.apply(state, data)
        self.index.write(states, fresh, _meta(offsets, self.origin))
        self.offsets = offsets
        return len(todo)


def _meta(offsets: Offsets, origin: Offsets) -> dict[str, Any]:
    return {"offsets": offsets, "origin": origin}
