"""Rebuilds at stream speed (issue 28, item 3): ``make rebuild`` of reputation and analytics.

**The topic.** ``bench.rebuild.<id>`` (6 partitions), pre-filled once per ``make bench`` with
``BENCH_REBUILD_EVENTS`` (default 100,000) demo-shaped events (``system.demo_events``: the
``make demo`` plan, 20,000 members, 30 days), deleted at the end.

Rows, per service (ratio = ours / the same-run baseline):

1. **rebuild, in memory** (what ``make rebuild`` does): the steps of the kit's
   ``rebuild.project`` with the service's own ``Rebuild`` spec: the whole topic from offset 0
   through the service's batch code on the in-memory store (``replay_in_memory``), then the
   end state loaded into a fresh database (``load``); events/s over the whole run (replay +
   load) and over the replay alone, vs a raw aiokafka consume + parse of the same records;
2. **rebuild, through the store** (``--through-store``): the same spec, every batch written
   to the store, over the first ``BENCH_REBUILD_STORE_EVENTS`` (default 10,000) records;
3. **load, indexes after vs before** the documents (the kit loads, then indexes);
4. **memory held**: the growth of the process's resident set during the in-memory replay
   (it holds every projected document), per 1,000 documents, beside the documents loaded.
"""

from __future__ import annotations

import gc
import os
import time
import uuid
from dataclasses import replace
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from pymongo import AsyncMongoClient

from analytics import rebuild as analytics_rebuild
from communitykit import rebuild as kit
from reputation import rebuild as reputation_rebuild
from schemas import PoisonEventError, UnknownEventTypeError, parse
from tests.servers import Servers

from .harness import drop_topic, fill_topic, row

EVENTS = int(os.environ.get("BENCH_REBUILD_EVENTS", "100000"))
STORE_EVENTS = int(os.environ.get("BENCH_REBUILD_STORE_EVENTS", "10000"))
RAW = "raw aiokafka consume + parse of the same records"
SPECS = {"reputation": reputation_rebuild.spec, "analytics": analytics_rebuild.spec}

NOTES = [
    f"rebuild: a {EVENTS:,}-event demo-shaped topic replayed from offset 0 in full by the kit's "
    "rebuild (in memory, then loaded into a fresh database); the store-backed path over its "
    f"first {STORE_EVENTS:,} records"
]

_kept: dict[str, Any] = {}


async def topic_of(servers: Servers) -> str:
    if "topic" not in _kept:
        topic = f"bench.rebuild.{uuid.uuid4().hex[:6]}"
        _kept["topic"], _kept["kafka"] = topic, servers.kafka
        print(f"[bench] rebuild: pre-filling {topic} with {EVENTS:,} demo events...", flush=True)
        took = await fill_topic(servers.kafka, topic, EVENTS)
        print(f"[bench] rebuild: topic filled in {took:.0f} s", flush=True)
    return str(_kept["topic"])


async def close() -> None:
    if "topic" in _kept:
        await drop_topic(_kept["kafka"], _kept["topic"])


async def raw_rate(bootstrap: str, until: dict[TopicPartition, int]) -> float:
    """Baseline: read and parse every record below ``until`` (as the replay's consumer is
    configured), nothing else."""
    c = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        max_poll_records=10_000,
        max_partition_fetch_bytes=4 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
    )
    await c.start()
    try:
        c.assign(list(until))
        await c.seek_to_beginning(*until)
        todo, n, t0 = dict(until), 0, time.perf_counter()
        while todo:
            for tp, records in (await c.getmany(*todo, timeout_ms=1000)).items():
                for r in records:
                    if r.offset < until[tp] and r.value is not None:
                        try:
                            parse(r.value)
                        except (PoisonEventError, UnknownEventTypeError):
                            pass
                        n += 1
            for tp in list(todo):
                if await c.position(tp) >= until[tp]:
                    del todo[tp]
        return n / (time.perf_counter() - t0)
    finally:
        await c.stop()


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


async def run(servers: Servers) -> list[dict[str, Any]]:
    topic = await topic_of(servers)
    bootstrap = servers.kafka
    until = await kit.end_offsets(bootstrap, [topic])
    total = sum(until.values())
    share = STORE_EVENTS / max(total, 1)
    prefix = {tp: max(1, int(end * share)) for tp, end in until.items()}
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(servers.mongodb, tz_aware=True)
    names: list[str] = []

    def fresh() -> Any:
        names.append(f"bench_rb_{uuid.uuid4().hex[:8]}")
        return client[names[-1]]

    size = f"{total:,} demo-shaped events, from offset 0"
    rows: list[dict[str, Any]] = []
    try:
        print("[bench] rebuild: raw consume + parse...", flush=True)
        raw = await raw_rate(bootstrap, until)
        for name, make in SPECS.items():
            base = make()
            spec = replace(
                base,
                settings=base.settings.model_copy(
                    update={"kafka_bootstrap_servers": bootstrap, "mongodb_url": servers.mongodb}
                ),
            )
            print(f"[bench] rebuild: {name} in memory...", flush=True)
            # kit.project's in-memory path, step by step: replay, then load (indexes after)
            gc.collect()
            before = rss_mb()
            t0 = time.perf_counter()
            memory, n = await kit.replay_in_memory(spec, until)
            replayed = time.perf_counter() - t0
            held = rss_mb() - before
            await kit.load(memory, fresh())
            took = time.perf_counter() - t0
            docs = sum(len(memory[c].docs) for c in await memory.list_collection_names())
            rows.append(
                row(f"{name}: rebuild in memory + load", size, "throughput", n / took,
                    "events/s", RAW, raw)
            )  # fmt: skip
            rows.append(
                row(f"{name}: rebuild, its in-memory replay alone", size, "throughput",
                    n / replayed, "events/s", RAW, raw)
            )  # fmt: skip
            t = time.perf_counter()
            await kit.load(memory, fresh(), indexes_first=True)
            first = time.perf_counter() - t
            rows.append(
                row(f"{name}: load of the end state, indexes after the documents",
                    f"{docs:,} documents", "throughput", docs / (took - replayed),
                    "documents/s", "indexes created before the documents", docs / first)
            )  # fmt: skip
            rows.append(
                row(f"{name}: memory held by the in-memory replay",
                    f"{docs:,} documents ({1000 * held / max(docs, 1):.2f} MB per 1,000)",
                    "RSS growth", held, "MB", "-", 0)
            )  # fmt: skip
            print(f"[bench] rebuild: {name}: {n} events, {docs} documents, {took:.1f} s "
                  f"({replayed:.1f} s replay), {held:.0f} MB held", flush=True)  # fmt: skip
            del memory

            print(f"[bench] rebuild: {name} through the store...", flush=True)
            store = await kit.project(spec, fresh(), prefix, in_memory=False)
            rows.append(
                row(f"{name}: rebuild through the store (--through-store)",
                    f"first {store['events_replayed']:,} of the same events", "throughput",
                    store["events_per_second"], "events/s", RAW, raw)
            )  # fmt: skip
    finally:
        for db_name in names:
            await client.drop_database(db_name)
        await client.close()
    return rows
