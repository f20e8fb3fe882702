"""``make rebuild SERVICE=reputation``: rebuild the projection from offset 0 and compare.

1. snapshot the end offsets of forum.events and ideas.events;
2. read both topics from offset 0 up to that snapshot (no consumer group: nothing is
   committed, nothing is published) through the very same projection code into a fresh
   database;
3. wait until the live consumer group has committed at least that snapshot;
4. compare a deterministic digest of every projection collection (outbox fields, which
   are transport state, are left out) and print the result.

Exit code 0 when rebuilt == live, 1 when they differ, 2 on error.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import sys
import time
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from communitykit.consumer import Received
from schemas import PoisonEventError, UnknownEventTypeError, parse, topics

from .adapters.mongo import PROJECTION, ReputationDb, canonical
from .config import Settings
from .projections.users import UsersProjection

SOURCES = (topics.FORUM_EVENTS, topics.IDEAS_EVENTS)


async def digest(db: AsyncDatabase[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """sha256 and count per projection collection, over documents sorted by _id, as
    ``adapters.mongo.canonical`` presents them (no transport fields, no write versions)."""
    out = {}
    for name in PROJECTION:
        h = hashlib.sha256()
        n = 0
        async for d in db[name].find({}).sort("_id", 1):
            c = canonical(name, d)
            if c is None:
                continue
            h.update(orjson.dumps(c, option=orjson.OPT_SORT_KEYS, default=str))
            n += 1
        out[name] = {"count": n, "sha256": h.hexdigest()}
    return out


async def _end_offsets(bootstrap: str) -> dict[TopicPartition, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(list(SOURCES))
    finally:
        await admin.close()
    parts = [
        TopicPartition(t["topic"], p["partition"])
        for t in described
        for p in t.get("partitions", [])
    ]
    c = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await c.start()
    try:
        return dict(await c.end_offsets(parts))
    finally:
        await c.stop()


async def replay(bootstrap: str, target: ReputationDb, until: dict[TopicPartition, int]) -> int:
    projection = UsersProjection(target, publish=False)
    await target.ensure_indexes()
    todo = {tp: end for tp, end in until.items() if end > 0}
    if not todo:
        return 0
    c = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, max_poll_records=1000
    )
    await c.start()
    n = 0
    try:
        c.assign(list(todo))
        await c.seek_to_beginning(*todo)
        while todo:
            batch = await c.getmany(*todo, timeout_ms=1000)
            received: list[Received] = []
            for tp, records in batch.items():
                for r in records:
                    if r.offset >= until[tp]:
                        continue
                    try:
                        received.append(Received(parse(r.value), r.topic, r.partition, r.offset))
                    except (PoisonEventError, UnknownEventTypeError):
                        pass  # the live consumer dead-lettered or ignored it too
            if received:
                await projection.apply(received)
                n += len(received)
            for tp in list(todo):
                if await c.position(tp) >= until[tp]:
                    del todo[tp]
    finally:
        await c.stop()
    return n


async def wait_for_live(
    bootstrap: str, group: str, until: dict[TopicPartition, int], timeout: float
) -> bool:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        deadline = time.monotonic() + timeout
        while True:
            committed = await admin.list_consumer_group_offsets(group)
            if all(
                end == 0 or (tp in committed and committed[tp].offset >= end)
                for tp, end in until.items()
            ):
                return True
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.5)
    finally:
        await admin.close()


async def run(into: str | None, wait: float, drop: bool) -> int:
    settings = Settings()
    target_name = into or f"{settings.mongodb_database}_rebuild_{int(time.time())}"
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
    try:
        await client.drop_database(target_name)
        until = await _end_offsets(settings.kafka_bootstrap_servers)
        t0 = time.monotonic()
        n = await replay(settings.kafka_bootstrap_servers, ReputationDb(client[target_name]), until)
        took = time.monotonic() - t0
        caught_up = await wait_for_live(
            settings.kafka_bootstrap_servers, settings.consumer_group, until, wait
        )
        live = await digest(client[settings.mongodb_database])
        rebuilt = await digest(client[target_name])
        equal = live == rebuilt
        report = {
            "live_database": settings.mongodb_database,
            "rebuilt_database": target_name,
            "events_replayed": n,
            "seconds": round(took, 2),
            "live_caught_up": caught_up,
            "equal": equal,
            "live": live,
            "rebuilt": rebuilt,
        }
        print(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
        print("rebuild == live" if equal else "rebuild DIFFERS from live")
        if drop:
            await client.drop_database(target_name)
        return 0 if equal else 1
    finally:
        await client.close()


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--into", help="database to rebuild into (default: <live>_rebuild_<time>)")
    ap.add_argument("--wait", type=float, default=60, help="seconds to wait for the live group")
    ap.add_argument("--drop", action="store_true", help="drop the rebuilt database afterwards")
    args = ap.parse_args()
    try:
        sys.exit(asyncio.run(run(args.into, args.wait, args.drop)))
    except Exception as e:  # noqa: BLE001 - a clear message, not a traceback
        print(f"rebuild failed: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
