"""``make rebuild SERVICE=notifications``: rebuild the projection from offset 0 and compare.

The kit's mechanism (:mod:`communitykit.rebuild`): replay every consumed topic from offset 0
up to a snapshot through the very same projection code, with publishing off, into a fresh
database; wait for the live group; compare ``threads``, ``posts``, ``ideas``, ``users`` and
the identity of every notification (one per recipient, source event and reason).

It never sends mail: the replay records decisions (and email intents) in the fresh database
only, and no sender runs on it. The members' own choices (follows, preferences) are copied
from the live database first, since no event carries them.

Exit code 0 when rebuilt == live, 1 when they differ, 2 on error.
"""

from __future__ import annotations

from pymongo import AsyncMongoClient

from communitykit import rebuild
from communitykit.consumer import BatchHandler

from .adapters.mongo import PROJECTION, NotificationsDb, canonical
from .config import Settings
from .entrypoints.consumers import SOURCES, projection_of


def spec() -> rebuild.Rebuild:
    settings = Settings()

    async def projection(db: rebuild.Db) -> BatchHandler:
        target = NotificationsDb(db)
        await target.ensure_indexes()
        live: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(settings.mongodb_url)
        try:
            source = live[settings.mongodb_database]
            follows = await source["follows"].find({"explicit": True}).to_list(None)
            prefs = await source["preferences"].find({}, {"outbox": 0}).to_list(None)
        finally:
            await live.close()
        if follows:
            await target.follows.insert_many(follows)
        if prefs:
            await target.preferences.insert_many([{**p, "outbox_len": 0} for p in prefs])
        return projection_of(target, settings, publish=False).apply

    return rebuild.Rebuild(
        settings=settings,
        group_id=settings.consumer_group,
        sources=SOURCES,
        collections=PROJECTION,
        projection=projection,
        normalize=canonical,
        in_memory=True,  # fold the replay in memory, load the end state once (kit docs)
    )


if __name__ == "__main__":
    rebuild.main(spec, __doc__)
