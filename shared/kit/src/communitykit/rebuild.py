"""``make rebuild SERVICE=<name>``: rebuild a projection from offset 0, compare with the live one.

The mechanism every consuming service shares (SPEC 6, "projections are disposable"):

1. snapshot the end offsets of the source topics;
2. read them from offset 0 up to that snapshot (no consumer group: nothing is committed,
   nothing is published) through the service's very own projection code into a fresh
   database;
3. wait until the live consumer group has committed at least that snapshot;
4. compare a deterministic digest of every projection collection (transport fields such
   as the outbox are left out) and print the result.

With ``--at-live-offsets`` the replay stops at the live group's committed offsets instead
of the topics' ends (step 3 is then moot): with the live service stopped, the comparison is
exact even while other producers keep writing to the topics.

**In memory** (``Rebuild(in_memory=True)``, the services' choice): a rebuild is offline, so
step 2 runs the very same batch code against the kit's in-memory store
(:class:`communitykit.memory.MemoryDatabase` in its stored form: values as the server keeps
them), and only the end state goes to the store: per collection, the indexes the
projection's own ``ensure_indexes`` asked for, then every final document once, in large
unordered ``insert_many`` chunks. The store sees one insert per document instead of one
write per touched document per batch; the process holds every projected document while it
runs (it grows with the documents, not the events: the report gives the peak RSS).
``--through-store`` takes the store-backed path instead (a projection too large for memory).

Exit code 0 when rebuilt == live, 1 when they differ, 2 on error. A service's
``rebuild.py`` only says which topics, which collections and how to build its projection
on a database (:class:`Rebuild`), then calls :func:`main`.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import resource
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from schemas import PoisonEventError, UnknownEventTypeError, parse

from .consumer import BatchHandler, Received
from .memory import MemoryDatabase
from .settings import ServiceSettings

Db = AsyncDatabase[dict[str, Any]]
Doc = dict[str, Any]

#: documents per ``insert_many`` of the load, and chunks in flight at once (measured on
#: FerretDB/SQLite: benchmarks/rebuild.py)
LOAD_CHUNK = 5000
LOAD_IN_FLIGHT = 2


@dataclass(frozen=True)
class Rebuild:
    """What one service rebuilds."""

    settings: ServiceSettings
    #: the live consumer group whose committed offsets the rebuild waits for
    group_id: str
    #: the topics the projection consumes
    sources: Sequence[str]
    #: the collections that make up the projection (compared)
    collections: Sequence[str]
    #: builds the projection on a (fresh) database, indexes included, and returns its
    #: batch handler; it must not publish anything
    projection: Callable[[Db], Awaitable[BatchHandler]]
    #: fields left out of the comparison (transport state, not projection state)
    transport_fields: Sequence[str] = ("outbox", "outbox_len")
    #: canonical form of a document before hashing (e.g. sort set-like arrays whose order
    #: depends on how records of different partitions interleaved); identity by default;
    #: None leaves the document out (nothing projected is left in it)
    normalize: Callable[[str, Doc], Doc | None] | None = field(default=None)
    #: records handed to the projection per call: a rebuild is a catch-up, and a larger
    #: batch touches fewer documents per event (one write per touched document per batch)
    batch_records: int = 1000
    #: replay into the in-memory store, then load the end state into the store once (see
    #: the module docstring); ``--through-store`` overrides it
    in_memory: bool = False


async def digest(
    db: Db,
    collections: Sequence[str],
    transport_fields: Sequence[str] = ("outbox", "outbox_len"),
    normalize: Callable[[str, Doc], Doc | None] | None = None,
) -> dict[str, dict[str, Any]]:
    """sha256 and count per collection, over documents sorted by _id."""
    out = {}
    for name in collections:
        h = hashlib.sha256()
        n = 0
        projection = {f: 0 for f in transport_fields} or None
        async for d in db[name].find({}, projection).sort("_id", 1):
            c = d if normalize is None else normalize(name, d)
            if c is None:
                continue
            h.update(orjson.dumps(c, option=orjson.OPT_SORT_KEYS, default=str))
            n += 1
        out[name] = {"count": n, "sha256": h.hexdigest()}
    return out


async def end_offsets(bootstrap: str, sources: Sequence[str]) -> dict[TopicPartition, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(list(sources))
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
        return dict(await c.end_offsets(parts)) if parts else {}
    finally:
        await c.stop()


async def committed_offsets(
    bootstrap: str, group: str, sources: Sequence[str]
) -> dict[TopicPartition, int]:
    """The group's committed offset of every partition of ``sources`` (0 where none)."""
    ends = await end_offsets(bootstrap, sources)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {tp: (committed[tp].offset if tp in committed else 0) for tp in ends}


async def replay(
    bootstrap: str,
    apply: BatchHandler,
    until: dict[TopicPartition, int],
    batch_records: int = 1000,
) -> int:
    """Feed every valid record below ``until`` to ``apply``, in batches of about
    ``batch_records``; return how many.

    The next records are fetched (aiokafka prefetches in the background) while a batch is
    being written, so the replay runs at the speed of the slower of the two."""
    todo = {tp: end for tp, end in until.items() if end > 0}
    if not todo:
        return 0
    c = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        max_poll_records=max(1000, min(batch_records, 10_000)),
        max_partition_fetch_bytes=4 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
    )
    await c.start()
    n = 0
    try:
        c.assign(list(todo))
        await c.seek_to_beginning(*todo)
        received: list[Received] = []
        while todo:
            batch = await c.getmany(*todo, timeout_ms=1000)
            for tp, records in batch.items():
                for r in records:
                    if r.offset >= until[tp] or r.value is None:
                        continue
                    try:
                        received.append(Received(parse(r.value), r.topic, r.partition, r.offset))
                    except (PoisonEventError, UnknownEventTypeError):
                        pass  # the live consumer dead-lettered or ignored it too
            for tp in list(todo):
                if await c.position(tp) >= until[tp]:
                    del todo[tp]
            if received and (len(received) >= batch_records or not todo):
                await apply(received)
                n += len(received)
                received = []
    finally:
        await c.stop()
    return n


async def load(
    source: MemoryDatabase,
    target: Db,
    *,
    chunk: int = LOAD_CHUNK,
    in_flight: int = LOAD_IN_FLIGHT,
    indexes_first: bool = False,
) -> dict[str, int]:
    """Every collection of ``source`` into the (empty) ``target``: the indexes its projection
    created (the recorded ``create_index`` calls, same keys and options) and its documents,
    in unordered ``insert_many`` chunks of ``chunk``, ``in_flight`` chunks at a time. The
    indexes go after the documents unless ``indexes_first`` (building an index over a
    loaded collection is cheaper than maintaining it insert by insert: measured in
    benchmarks/rebuild.py). Returns the documents loaded per collection."""
    sem = asyncio.Semaphore(in_flight)

    async def insert(name: str, docs: list[Doc]) -> None:
        async with sem:
            await target[name].insert_many(docs, ordered=False)

    async def indexes(name: str) -> None:
        for keys, options in source[name].indexes:
            await target[name].create_index(keys, **options)

    loaded: dict[str, int] = {}
    names = await source.list_collection_names()
    for name in names:
        if indexes_first:
            await indexes(name)
        docs = list(source[name].docs.values())
        loaded[name] = len(docs)
        await asyncio.gather(
            *(insert(name, docs[i : i + chunk]) for i in range(0, len(docs), chunk))
        )
        if not indexes_first:
            await indexes(name)
    return loaded


def peak_rss_mb() -> float:
    """This process's peak resident set size so far (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


async def replay_in_memory(
    spec: Rebuild, until: dict[TopicPartition, int], name: str = "rebuild"
) -> tuple[MemoryDatabase, int]:
    """The replay below ``until`` through the service's very own batch code, on the
    in-memory store (values kept as the server stores them); returns it and the events."""
    memory = MemoryDatabase(name, stored_form=True)
    apply = await spec.projection(memory)  # type: ignore[arg-type]
    n = await replay(spec.settings.kafka_bootstrap_servers, apply, until, spec.batch_records)
    return memory, n


async def project(
    spec: Rebuild,
    target: Db,
    until: dict[TopicPartition, int],
    *,
    in_memory: bool | None = None,
) -> dict[str, Any]:
    """Step 2: the replay below ``until`` through the service's projection into ``target``
    (in memory then loaded, or batch by batch through the store); returns the figures."""
    memory = spec.in_memory if in_memory is None else in_memory
    t0 = time.monotonic()
    loaded: dict[str, int] | None = None
    if memory:
        source, n = await replay_in_memory(spec, until, target.name)
        replayed = time.monotonic() - t0
        loaded = await load(source, target)
        del source  # the documents are in the store now
    else:
        apply = await spec.projection(target)
        n = await replay(spec.settings.kafka_bootstrap_servers, apply, until, spec.batch_records)
        replayed = time.monotonic() - t0
    took = time.monotonic() - t0
    return {
        "path": "in memory, then loaded" if memory else "through the store",
        "events_replayed": n,
        "seconds": round(took, 2),
        "events_per_second": round(n / took) if took > 0 else None,
        "replay_seconds": round(replayed, 2),
        "load_seconds": round(took - replayed, 2),
        "documents_loaded": loaded,
        "peak_rss_mb": peak_rss_mb(),
    }


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


async def run(
    spec: Rebuild,
    into: str | None,
    wait: float,
    drop: bool,
    at_live: bool = False,
    through_store: bool = False,
) -> int:
    settings = spec.settings
    target_name = into or f"{settings.mongodb_database}_rebuild_{int(time.time())}"
    client: AsyncMongoClient[Doc] = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
    try:
        await client.drop_database(target_name)
        bootstrap = settings.kafka_bootstrap_servers
        if at_live:
            until = await committed_offsets(bootstrap, spec.group_id, spec.sources)
        else:
            until = await end_offsets(bootstrap, spec.sources)
        figures = await project(
            spec, client[target_name], until, in_memory=spec.in_memory and not through_store
        )
        caught_up = await wait_for_live(
            settings.kafka_bootstrap_servers, spec.group_id, until, wait
        )

        async def digest_of(name: str) -> dict[str, dict[str, Any]]:
            return await digest(
                client[name], spec.collections, spec.transport_fields, spec.normalize
            )

        live = await digest_of(settings.mongodb_database)
        rebuilt = await digest_of(target_name)
        equal = live == rebuilt
        report = {
            "live_database": settings.mongodb_database,
            "rebuilt_database": target_name,
            **figures,
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


def main(spec: Callable[[], Rebuild], description: str | None = __doc__) -> None:
    """The command line of ``python -m <service>.rebuild``."""
    ap = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--into", help="database to rebuild into (default: <live>_rebuild_<time>)")
    ap.add_argument("--wait", type=float, default=60, help="seconds to wait for the live group")
    ap.add_argument("--drop", action="store_true", help="drop the rebuilt database afterwards")
    ap.add_argument(
        "--at-live-offsets",
        action="store_true",
        help="replay up to the live group's committed offsets (stop the live service first)",
    )
    ap.add_argument(
        "--through-store",
        action="store_true",
        help="write every batch to the store instead of folding the replay in memory "
        "(for a projection larger than this machine's memory; slower)",
    )
    args = ap.parse_args()
    try:
        sys.exit(
            asyncio.run(
                run(
                    spec(),
                    args.into,
                    args.wait,
                    args.drop,
                    args.at_live_offsets,
                    args.through_store,
                )
            )
        )
    except Exception as e:  # noqa: BLE001 - a clear message, not a traceback
        print(f"rebuild failed: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(2)
