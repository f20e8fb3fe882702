"""``make rebuild SERVICE=forum``: rebuild the thread read models from forum.events.

The mechanism is the kit's (:mod:`communitykit.rebuild`): replay forum.events from offset 0
up to a snapshot through the very same projection (projections/threads.py, with its
commands on the write side off) into a fresh database, wait for the live group
(``FORUM_THREADS_CONSUMER_GROUP``) to reach the snapshot, compare digests of
``thread_list``, ``thread_tags`` and ``post_stats``. The write side (threads, posts, votes,
groups) is the source of those events and is not rebuilt. ``levels`` (from
reputation.events) is the reputation service's to rebuild.

Exit code 0 when rebuilt == live, 1 when they differ, 2 on error.
"""

from __future__ import annotations

from communitykit import rebuild
from communitykit.consumer import BatchHandler
from schemas import topics

from .adapters.mongo import PROJECTION, ForumDb
from .config import Settings
from .projections.threads import ThreadsProjection


async def _projection(db: rebuild.Db) -> BatchHandler:
    target = ForumDb(db)
    await target.ensure_projection_indexes()
    return ThreadsProjection(target, commands=False).apply


def spec() -> rebuild.Rebuild:
    settings = Settings()
    return rebuild.Rebuild(
        settings=settings,
        group_id=settings.threads_consumer_group,
        sources=(topics.FORUM_EVENTS,),
        collections=PROJECTION,
        projection=_projection,
        in_memory=True,  # fold the replay in memory, load the end state once (kit docs)
    )


if __name__ == "__main__":
    rebuild.main(spec, __doc__)
