"""``make rebuild SERVICE=reputation``: rebuild the projection from offset 0 and compare.

The mechanism is the kit's (:mod:`communitykit.rebuild`): replay forum.events, ideas.events,
gatherings.events and media.events (``entrypoints.consumers.SOURCES``) from offset 0 up to a
snapshot, through the very same projection code (with publishing off), into a fresh database;
wait for the live group to reach the snapshot; compare digests of every projection collection
as ``adapters.mongo.canonical`` presents them (no transport fields, no write versions).

Exit code 0 when rebuilt == live, 1 when they differ, 2 on error.
"""

from __future__ import annotations

from communitykit import rebuild
from communitykit.consumer import BatchHandler

from .adapters.mongo import PROJECTION, ReputationDb, canonical
from .config import Settings
from .entrypoints.consumers import SOURCES
from .projections.users import UsersProjection

#: records per call of the projection during a rebuild: each touched scope (day, thread,
#: idea) and user is folded and written once per batch, so a large batch folds each of them
#: fewer times (measured: 1,000 → 20,000 records per batch, ~2-4x the events/s in memory)
REBUILD_BATCH = 20_000


async def _projection(db: rebuild.Db) -> BatchHandler:
    target = ReputationDb(db)
    await target.ensure_indexes()
    return UsersProjection(target, publish=False).apply


def spec() -> rebuild.Rebuild:
    settings = Settings()
    return rebuild.Rebuild(
        settings=settings,
        group_id=settings.consumer_group,
        sources=SOURCES,
        collections=PROJECTION,
        projection=_projection,
        # no write versions, $addToSet arrays as sets, ledger lines with nothing left skipped
        normalize=canonical,
        batch_records=REBUILD_BATCH,
        in_memory=True,  # fold the replay in memory, load the end state once (kit docs)
    )


if __name__ == "__main__":
    rebuild.main(spec, __doc__)
