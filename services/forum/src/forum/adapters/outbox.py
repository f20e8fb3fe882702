"""The kit's outbox relay, serialised with the forum's writes to the same document.

The kit's relay already marks an entry published only while it is still there (so two
replicas never drive ``outbox_len`` negative). FerretDB 1.24 additionally does not apply
concurrent updates to one document atomically, so here each mark also takes the forum's
per-document lock (``doc_lock``), the same lock the HTTP handlers take (one process only;
real MongoDB needs none of this).
"""

from __future__ import annotations

import asyncio
from typing import Any

from communitykit import metrics
from communitykit.outbox import OutboxRelay

from .mongo import doc_lock


class GuardedOutboxRelay(OutboxRelay):
    async def drain_once(self) -> int:
        total = 0
        for name in self._collections:
            coll = self._db[name]
            docs = await (
                coll.find({"outbox_len": {"$gt": 0}}, {"outbox": 1})
                .limit(self._batch)
                .to_list(None)
            )
            entries: list[tuple[Any, str, dict[str, Any]]] = [
                (d["_id"], eid, entry)
                for d in docs
                for eid, entry in (d.get("outbox") or {}).items()
            ]
            if not entries:
                continue
            entries.sort(key=lambda x: x[2]["seq"])
            futures = [await self._publish(entry) for _, _, entry in entries]
            await asyncio.gather(*futures)  # broker acks (acks=all, idempotent producer)
            for doc_id, eid, _ in entries:
                # only the relay that still finds the entry decrements the counter; the
                # document lock keeps this from overlapping a handler's update (FerretDB)
                async with doc_lock(name, doc_id):
                    await coll.update_one(
                        {"_id": doc_id, f"outbox.{eid}": {"$exists": True}},
                        {"$unset": {f"outbox.{eid}": ""}, "$inc": {"outbox_len": -1}},
                    )
            total += len(entries)
        metrics.OUTBOX_PUBLISHED.inc(total)
        return total
