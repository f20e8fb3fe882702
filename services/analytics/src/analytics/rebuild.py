"""``make rebuild SERVICE=analytics``: rebuild the metric projections from offset 0 and compare.

The mechanism is the kit's (:mod:`communitykit.rebuild`): replay forum.events, ideas.events
and reputation.events from offset 0 up to a snapshot, through the very same projection
code, into a fresh database; wait for the live group to reach the snapshot; compare
digests of every collection (set-like arrays sorted: their order depends on how the
partitions interleaved, not on what they hold).

Exit code 0 when rebuilt == live, 1 when they differ, 2 on error.
"""

from __future__ import annotations

from collections.abc import Sequence

from communitykit import rebuild
from communitykit.consumer import BatchHandler, Received

from .adapters.mongo import PROJECTION, AnalyticsDb, normalize
from .config import Settings
from .entrypoints.consumers import SOURCES, metric_records
from .influence import facts as influence_facts
from .influence.projection import InfluenceProjection
from .listening import rebuild as listening
from .projections.store import MetricsProjection, relax_gc

#: events per batch of the replay: one write per touched document per batch, so a large
#: batch makes a catch-up cheaper per event (measured: benchmarks/analytics_bench.py)
REBUILD_BATCH = 20_000


async def _projection(db: rebuild.Db) -> BatchHandler:
    target = AnalyticsDb(db)
    await target.ensure_indexes()
    relax_gc()
    # the same batch code as live (into an empty database, every document is an insert)
    metrics, influence = MetricsProjection(target), InfluenceProjection(db)
    listen = await listening.projection(db)

    async def apply(batch: Sequence[Received]) -> None:
        metric = metric_records(batch)
        await metrics.apply(metric)
        await influence.apply(metric)
        await listen(batch)

    return apply


def spec() -> rebuild.Rebuild:
    settings = Settings()
    return rebuild.Rebuild(
        settings=settings,
        group_id=settings.consumer_group,
        sources=SOURCES,
        # the influence graph's facts too (its index is a function of them and the day)
        collections=(*PROJECTION, *influence_facts.COLLECTIONS, *listening.COLLECTIONS),
        projection=_projection,
        normalize=listening.normalizing(normalize),
        batch_records=REBUILD_BATCH,
        # fold the replay in memory, load the end state once (kit docs); every collection,
        # listening's and influence's included, equal to the store-backed path:
        # tests/integration/kit/test_rebuild_in_memory.py
        in_memory=True,
    )


if __name__ == "__main__":
    rebuild.main(spec, __doc__)
