"""``make rebuild SERVICE=search``: rebuild the index from the topics and compare with the live one.

1. snapshot the end offsets of the source topics and wait (``--wait``) until the live index
   (read from ``SEARCH_INDEX_PATH``; a reader needs no lock, the service keeps running)
   covers them;
2. take ONE searcher of the live index: its documents and its stored position are one
   consistent commit;
3. replay every partition from the index's origin (offset 0 in production, see
   ``SEARCH_START_FROM``) up to exactly that position, through the very same projection
   code, into a fresh index in a temporary directory (no consumer group: nothing is
   committed, nothing is published);
4. compare a digest of every document's state, and the results of a few searches built
   from the live titles; print the report.

Exit code 0 when rebuilt == live, 1 when they differ, 2 on error. ``--into DIR`` keeps the
rebuilt index (e.g. to swap it in: stop the replica, move DIR to its index path, start it).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from typing import Any

import orjson
import tantivy
from aiokafka import AIOKafkaConsumer, TopicPartition

from communitykit.consumer import Received
from communitykit.rebuild import end_offsets
from schemas import PoisonEventError, UnknownEventTypeError, parse

from .adapters import queries
from .adapters.index import Offsets, SearchIndex, doc_state, read_meta
from .config import Settings
from .domain import query as user_query
from .projection import IndexProjection
from .service import SearchService

#: how many live titles are searched on both sides
PROBES = 20
#: records per batch of the replay: one index commit per batch (~0.2 s of fsyncs), so a
#: rebuild, a catch-up, wants few large ones
REBUILD_BATCH = 20_000


def _covers(offsets: Offsets, until: dict[TopicPartition, int], origin: Offsets) -> bool:
    for tp, end in until.items():
        start = origin.get(tp.topic, {}).get(str(tp.partition), 0)
        if end > start and offsets.get(tp.topic, {}).get(str(tp.partition), 0) < end:
            return False
    return True


async def wait_for_live(live: SearchIndex, until: dict[TopicPartition, int], wait: float) -> bool:
    deadline = time.monotonic() + wait
    while True:
        live.index.reload()
        meta = live.meta()
        if _covers(meta.get("offsets", {}), until, meta.get("origin", {})):
            return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.5)


async def replay(
    bootstrap: str,
    projection: IndexProjection,
    origin: Offsets,
    until: Offsets,
    batch_records: int = REBUILD_BATCH,
) -> int:
    """Apply every record of [origin, until) per partition, in batches of about
    ``batch_records`` (the same batch code as live); returns the events applied."""
    ranges = {
        TopicPartition(t, int(p)): (origin.get(t, {}).get(p, 0), end)
        for t, parts in until.items()
        for p, end in parts.items()
    }
    todo = {tp: r for tp, r in ranges.items() if r[1] > r[0]}
    if not todo:
        return 0
    c = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        max_poll_records=min(batch_records, 10_000),
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await c.start()
    n = 0
    try:
        c.assign(list(todo))
        for tp, (start, _end) in todo.items():
            c.seek(tp, start)
        received: list[Received] = []
        while todo:
            batch = await c.getmany(*todo, timeout_ms=1000)
            for tp, records in batch.items():
                for r in records:
                    if r.offset >= todo.get(tp, (0, 0))[1]:
                        continue
                    try:
                        received.append(Received(parse(r.value), r.topic, r.partition, r.offset))
                    except (PoisonEventError, UnknownEventTypeError):
                        pass  # the live consumer dead-lettered or ignored it too
            for tp in list(todo):
                if await c.position(tp) >= todo[tp][1]:
                    del todo[tp]
            if received and (len(received) >= batch_records or not todo):
                n += await projection.apply(received)
                received = []
    finally:
        await c.stop()
    return n


def probe_queries(live: SearchIndex) -> list[str]:
    """A few queries made of live titles (the first documents of the snapshot)."""
    searcher = live.searcher()
    hits = searcher.search(tantivy.Query.all_query(), PROBES * 2, count=False).hits
    titles = [orjson.loads(doc_state(searcher.doc(a))).get("title") for _s, a in hits]
    return [t for t in titles if isinstance(t, str) and t.strip()][:PROBES]


def results(index: SearchIndex, probes: list[str]) -> list[list[str]]:
    """Per query, every document found (sorted ids). Scores, and so the order and the top
    of a long list, may differ slightly between two indexes with the same documents (BM25
    statistics count deleted documents until their segments merge); what matches may not."""
    service = SearchService(index)
    searcher = index.searcher()
    out = []
    for q in probes:
        parsed = user_query.parse(q, service.analyze)
        if parsed.empty:
            continue
        query = queries.ranked(queries.text_query(parsed), queries.Filters())
        hits, _ = queries.run(searcher, query, limit=max(1, searcher.num_docs))
        out.append(sorted(f"{h.state['type']}:{h.state['id']}" for h in hits))
    return out


async def run(into: str | None, wait: float) -> int:
    settings = Settings()
    live = SearchIndex.open_readonly(settings.index_path)
    until = await end_offsets(settings.kafka_bootstrap_servers, settings.topic_list)
    caught_up = await wait_for_live(live, until, wait)
    # no reload after this point: every read below sees the same commit, in which the
    # documents and the position agree
    meta = read_meta(live.searcher())
    live_digest = live.digest()
    target = into or tempfile.mkdtemp(prefix="search-rebuild-")
    rebuilt = SearchIndex(target)
    projection = IndexProjection(rebuilt)
    t0 = time.monotonic()
    n = await replay(
        settings.kafka_bootstrap_servers,
        projection,
        meta.get("origin", {}),
        meta.get("offsets", {}),
    )
    took = time.monotonic() - t0
    rebuilt_digest = rebuilt.digest()
    probes = probe_queries(live)
    same_results = results(live, probes) == results(rebuilt, probes)
    equal = live_digest == rebuilt_digest and same_results
    report: dict[str, Any] = {
        "live_index": settings.index_path,
        "rebuilt_index": target,
        "position": meta.get("offsets", {}),
        "origin": meta.get("origin", {}),
        "live_caught_up": caught_up,
        "events_replayed": n,
        "seconds": round(took, 2),
        "events_per_second": round(n / took) if took > 0 else None,
        "live": live_digest,
        "rebuilt": rebuilt_digest,
        "probe_queries": len(probes),
        "same_results": same_results,
        "equal": equal,
    }
    print(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
    print("rebuild == live" if equal else "rebuild DIFFERS from live")
    return 0 if equal else 1


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--into", help="directory for the rebuilt index (default: a temporary one)")
    ap.add_argument("--wait", type=float, default=60, help="seconds to wait for the live index")
    args = ap.parse_args()
    try:
        sys.exit(asyncio.run(run(args.into, args.wait)))
    except Exception as e:  # noqa: BLE001 - a clear message, not a traceback
        print(f"rebuild failed: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
