"""Analytics projection throughput and cost per batch at two history sizes.

    .venv/bin/python benchmarks/analytics_bench.py      # BENCH_N events (default 2000)

Every figure is printed next to a baseline measured in the same run on the same servers:

* analytics projection (batches of 500 mixed forum/ideas events) vs raw PyMongo unordered
  bulk upserts of one document per event;
* the time of one more 500-event batch after a small history and after a history 10x as
  large (CONVENTIONS 12: the cost of a batch follows the batch, not the history).
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient, UpdateOne

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analytics.adapters.mongo import AnalyticsDb  # noqa: E402
from analytics.projections.store import MetricsProjection  # noqa: E402
from communitykit.consumer import Received  # noqa: E402
from schemas import Envelope, new_event, topics  # noqa: E402
from schemas.forum import AnswerAccepted, PostCreated, VoteCast  # noqa: E402
from schemas.ideas import IdeaSubmitted, IdeaVoteCast  # noqa: E402
from tests.servers import resolve  # noqa: E402

N = int(os.environ.get("BENCH_N", "2000"))
BATCH = 500


def community(n: int, seed: int, start: datetime) -> list[Received]:
    """n mixed events over a few days: questions, replies, votes, accepts, ideas."""
    rng = random.Random(seed)
    users = [f"u{seed}-{k}" for k in range(300)]
    out: list[Received] = []
    offsets: dict[tuple[str, int], int] = {}
    threads: list[tuple[str, str]] = []
    t = start

    def add(topic: str, data: Any, key: str, actor: str) -> None:
        nonlocal t
        t += timedelta(seconds=rng.randint(5, 120))
        env: Envelope[Any] = new_event(data, subject=key, actor_id=actor, time=t)
        p = hash(key) % topics.EVENT_TOPIC_PARTITIONS
        off = offsets.get((topic, p), 0)
        offsets[(topic, p)] = off + 1
        out.append(Received(env, topic, p, off))

    while len(out) < n:
        roll, who = rng.random(), rng.choice(users)
        if roll < 0.15 or not threads:
            tid = uuid.uuid4().hex
            threads.append((tid, who))
            add(
                topics.FORUM_EVENTS,
                PostCreated(post_id=tid, thread_id=tid, kind="question", author_id=who,
                            title="q", body_length=5),
                tid,
                who,
            )  # fmt: skip
        elif roll < 0.45:
            tid, asker = rng.choice(threads[-50:])
            pid = uuid.uuid4().hex
            add(
                topics.FORUM_EVENTS,
                PostCreated(post_id=pid, thread_id=tid, parent_post_id=tid, kind="reply",
                            author_id=who, body_length=5),
                tid,
                who,
            )  # fmt: skip
            if rng.random() < 0.3:
                add(
                    topics.FORUM_EVENTS,
                    AnswerAccepted(thread_id=tid, answer_post_id=pid, answer_author_id=who,
                                   question_author_id=asker),
                    tid,
                    asker,
                )  # fmt: skip
        elif roll < 0.9:
            tid, asker = rng.choice(threads[-50:])
            add(
                topics.FORUM_EVENTS,
                VoteCast(target_id=tid, thread_id=tid, target_kind="question",
                         target_author_id=asker, voter_id=who, value=1, previous_value=0),
                tid,
                who,
            )  # fmt: skip
        else:
            iid = uuid.uuid4().hex
            add(
                topics.IDEAS_EVENTS,
                IdeaSubmitted(idea_id=iid, author_id=who, title="i", category="c",
                              product_area="p"),
                iid,
                who,
            )  # fmt: skip
            voter = rng.choice(users)
            add(
                topics.IDEAS_EVENTS,
                IdeaVoteCast(target_id=iid, target_author_id=who, voter_id=voter, value=1,
                             previous_value=0),
                iid,
                voter,
            )  # fmt: skip
    return out[:n]


async def raw_bulk(db: Any, events: list[Received]) -> float:
    coll = db["bench_raw"]
    await coll.drop()
    t = time.perf_counter()
    for i in range(0, len(events), BATCH):
        await coll.bulk_write(
            [
                UpdateOne({"_id": r.event.id}, {"$set": {"t": r.event.time}}, upsert=True)
                for r in events[i : i + BATCH]
            ],
            ordered=False,
        )
    return time.perf_counter() - t


async def apply(db: Any, events: list[Received]) -> float:
    store = AnalyticsDb(db)
    await store.ensure_indexes()
    projection = MetricsProjection(store)
    t = time.perf_counter()
    for i in range(0, len(events), BATCH):
        await projection.apply(events[i : i + BATCH])
    return time.perf_counter() - t


async def main() -> None:
    servers = resolve()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(servers.mongodb, tz_aware=True)
    small = client[f"bench_an_{uuid.uuid4().hex[:6]}"]
    large = client[f"bench_an_{uuid.uuid4().hex[:6]}"]
    try:
        t0 = datetime(2026, 11, 1, tzinfo=UTC)
        events = community(N, 1, t0)
        base = await raw_bulk(small, events)
        ours = await apply(small, events)
        # one more batch (same shape, new users and threads) after N vs 10N events of history
        await apply(large, community(10 * N, 2, t0))
        probe_small = community(BATCH, 3, t0 + timedelta(days=40))
        probe_large = community(BATCH, 3, t0 + timedelta(days=40))
        after_small = await apply(small, probe_small)
        after_large = await apply(large, probe_large)
        print(f"\n{N} events, batches of {BATCH}; servers: {servers.source}")
        print(
            f"{'consume: analytics projection vs raw PyMongo bulk upserts':<62} "
            f"baseline {N / base:>7.0f}/s  ours {N / ours:>7.0f}/s  "
            f"ratio {ours / base:>5.2f}x the baseline's time"
        )
        print(
            f"{'one more batch: after ' + str(N) + ' vs after ' + str(11 * N) + ' events':<62} "
            f"{after_small * 1000:>7.0f} ms vs {after_large * 1000:>7.0f} ms  "
            f"ratio {after_large / after_small:>5.2f}"
        )
    finally:
        await client.drop_database(small.name)
        await client.drop_database(large.name)
        await client.close()
        servers.stop()


if __name__ == "__main__":
    asyncio.run(main())
