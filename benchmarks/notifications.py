"""Notifications: the fan-out of one reply to a thread watched by ``BENCH_WATCHERS`` members
(default 10,000), and the decision latency per event.

Fan-out (ours): the consumer's projection (``InboxProjection``, outbox on) applies ONE reply
event to a thread whose 10,000 explicit watchers are in ``follows``: it loads them (one
``$in`` on the ``tk`` index), decides 10,000 times against 10,000 budgets, and writes 10,000
member documents (version-guarded, with their outbox events), 10,000 inbox entries and 10,000
notifications. Figure: inbox entries written per second, end to end, for a first reply
(members the store has never seen) and a second one (every member document read and
updated, every entry grown).
Baseline (same run, same store): raw ``insert_many`` of the very same notification
documents into an empty collection.

Decision latency: ``BENCH_NOTIFY_EVENTS`` (default 200) replies to threads with 5 watchers
each, applied one event per batch (what a quiet consumer sees): p99 of the time from
``apply`` to its last write acknowledged. Baseline: p99 of one raw ``insert_one`` of a
notification document on the same store. The pure decision (``domain.budget.decide``) is
reported too (p99 in microseconds, no baseline: no I/O).
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import AsyncMongoClient, InsertOne

from communitykit.consumer import Received
from notifications.adapters.mongo import NotificationsDb
from notifications.domain.budget import BudgetState, decide
from notifications.domain.preferences import Preferences
from notifications.projections.inbox import InboxProjection
from schemas import new_event, topics
from schemas.forum import PostCreated
from tests.servers import Servers

WATCHERS = int(os.environ.get("BENCH_WATCHERS", "10000"))
EVENTS = int(os.environ.get("BENCH_NOTIFY_EVENTS", "200"))
NOTES: list[str] = []
T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)


def _p99(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=100)[98] if len(xs) >= 2 else xs[0]


def _reply(thread: str, i: int) -> Any:
    return new_event(
        PostCreated(
            post_id=f"{thread}-{i}",
            thread_id=thread,
            kind="reply",
            author_id=f"replier{i}",
            body_length=5,
        ),
        subject=thread,
        actor_id=f"replier{i}",
        time=T0 + timedelta(minutes=i),
    )


async def _thread(db: NotificationsDb, thread: str, watchers: int, prefix: str) -> None:
    await db.threads.insert_one(
        {"_id": thread, "author": "asker", "title": "Bench thread", "group_id": None, "tags": []}
    )
    docs = [
        {
            "_id": f"{prefix}{i}|thread|{thread}",
            "member": f"{prefix}{i}",
            "scope": "thread",
            "target": thread,
            "tk": f"thread|{thread}",
            "level": "watching",
            "explicit": True,
            "version": 1,
        }
        for i in range(watchers)
    ]
    for k in range(0, len(docs), 5000):
        await db.follows.insert_many(docs[k : k + 5000], ordered=False)


async def run(servers: Servers) -> list[dict[str, Any]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(servers.mongodb, tz_aware=True)
    name = f"bench_notifications_{uuid.uuid4().hex[:6]}"
    rows: list[dict[str, Any]] = []
    try:
        db = NotificationsDb(client[name])
        await db.ensure_indexes()
        proj = InboxProjection(db, email_domain="bench.test", clock=lambda: T0.timestamp())

        # ---- fan-out of one reply to WATCHERS members: first to members the store has never
        # seen (every member document, entry and notification is new), then a second reply
        # (every member document is read and updated, every inbox entry grows to "2 new
        # replies"): each against raw insert_many of its own notification documents
        await _thread(db, "fan", WATCHERS, "w")
        firsts: list[float] = []
        for n, label in ((1, "first reply, new members"), (2, "second reply, members known")):
            before = await db.notifications.count_documents({})
            t = time.perf_counter()
            await proj.apply([Received(_reply("fan", n), topics.FORUM_EVENTS, 0, n)])
            ours = time.perf_counter() - t
            notes = await db.notifications.find({"at": T0 + timedelta(minutes=n)}).to_list(None)
            # the watchers, the thread's asker and (second reply) the first replier, each
            # notification written to one inbox entry (new, or grown to "2 new replies")
            entries = len(notes)
            assert WATCHERS + 1 <= entries <= WATCHERS + n, entries
            assert before + entries == await db.notifications.count_documents({})
            assert await db.inbox.count_documents({"count": n}) == WATCHERS + 1
            raw = client[name][f"raw_notifications_{n}"]
            t = time.perf_counter()
            for k in range(0, len(notes), 5000):
                await raw.bulk_write([InsertOne(x) for x in notes[k : k + 5000]], ordered=False)
            base = time.perf_counter() - t
            firsts.append(ours)
            firsts.append(base)
            rows.append(
                {
                    "scenario": "notifications fan-out of one reply",
                    "size": f"{WATCHERS} watchers, {label}",
                    "metric": "inbox entries written/s",
                    "value": entries / ours,
                    "unit": "entries/s",
                    "baseline": "raw insert_many of the same notification documents",
                    "baseline_value": len(notes) / base,
                    "ratio": (entries / ours) / (len(notes) / base),
                }
            )

        # ---- decision latency per event (one event per batch)
        for j in range(EVENTS // 10 + 1):
            await _thread(db, f"lat{j}", 5, f"l{j}-")
        lat = []
        for i in range(EVENTS):
            ev = _reply(f"lat{i // 10}", 100 + i)
            t = time.perf_counter()
            await proj.apply([Received(ev, topics.FORUM_EVENTS, 1, 100 + i)])
            lat.append(time.perf_counter() - t)
        one = client[name]["raw_one"]
        sample = {k: v for k, v in notes[0].items() if k != "_id"}
        raw_lat = []
        for i in range(EVENTS):
            t = time.perf_counter()
            await one.insert_one({**sample, "_id": f"r{i}"})
            raw_lat.append(time.perf_counter() - t)
        rows.append(
            {
                "scenario": "notifications decision latency",
                "size": f"{EVENTS} events x 5 watchers",
                "metric": "p99 per event (apply -> written)",
                "value": _p99(lat) * 1000,
                "unit": "ms",
                "baseline": "p99 of one raw insert_one",
                "baseline_value": _p99(raw_lat) * 1000,
                "ratio": _p99(lat) / _p99(raw_lat),
            }
        )

        # ---- the pure decision, no I/O
        prefs, state, pure = Preferences(), BudgetState(), []
        for i in range(20000):
            t = time.perf_counter()
            decide("watched_post", prefs, state, T0 + timedelta(seconds=i), level="watching")
            pure.append(time.perf_counter() - t)
        rows.append(
            {
                "scenario": "notifications decision latency",
                "size": "20000 decisions",
                "metric": "p99 of the pure budget decision",
                "value": _p99(pure) * 1e6,
                "unit": "us",
                "baseline": None,
                "baseline_value": None,
                "ratio": None,
            }
        )
        NOTES[:] = [
            f"notifications: one reply to a thread watched by {WATCHERS:,} members wrote "
            f"{WATCHERS + 1:,} inbox entries (plus as many notifications and member documents) in "
            f"{firsts[0]:.1f} s (new members) and {firsts[2]:.1f} s (a second reply: members "
            f"read and updated, entries grown); raw insert_many of the same notification "
            f"documents: {firsts[1]:.1f} s and {firsts[3]:.1f} s. Decision latency p99 "
            f"{_p99(lat) * 1000:.0f} ms per event end to end (raw insert_one p99 "
            f"{_p99(raw_lat) * 1000:.0f} ms), pure decision p99 {_p99(pure) * 1e6:.0f} us."
        ]
    finally:
        await client.drop_database(name)
        await client.close()
    return rows
