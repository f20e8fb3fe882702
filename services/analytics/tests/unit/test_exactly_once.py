"""At-least-once in, exactly-once effect (SPEC 6): redelivered batches, other batch
boundaries, partitions interleaved differently and a stale replica writing late all end
in the state of one ordered application."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

from analytics.adapters.mongo import normalize
from analytics.projections.store import MetricsProjection
from communitykit.consumer import Received

from .conftest import snapshot

D1, D2 = date(2026, 11, 2), date(2026, 11, 3)


def canonical(c: Any) -> dict[str, Any]:
    return {
        name: {k: normalize(name, d) for k, d in docs.items()}
        for name, docs in snapshot(c.db).items()
    }


def once(community_factory: Any) -> tuple[Any, dict[str, Any]]:
    c = community_factory().story()
    c.apply()
    return c, canonical(c)


def by_partition(records: list[Any]) -> dict[tuple[str, int], list[Any]]:
    out: dict[tuple[str, int], list[Any]] = {}
    for r in records:
        out.setdefault((r.topic, r.partition), []).append(r)
    return out


def test_every_batch_redelivered_counts_once(community: Any) -> None:
    community.story()
    recs = community.records
    # a crash after each write: every batch is delivered again, and so is the next one's
    # prefix (the redelivery starts at the last committed offset)
    community.apply([recs[:5], recs[:9], recs[5:9], recs[9:20], recs[9:], recs, recs[3:4]])
    _, want = once(type(community))
    assert canonical(community) == want
    o = community.overview(D1, D2)
    assert (o["posts"], o["votes"], o["active_users"]) == (13, 4, 7)


def test_an_event_published_twice_counts_once(community: Any) -> None:
    community.story()
    _, want = once(type(community))
    original = list(community.records)
    copies = community.republish(original[4:15])
    community.apply([original[:10], original[10:] + copies[:3], copies[3:]])
    assert canonical(community)["days"] == want["days"]
    assert canonical(community)["threads"] == want["threads"]
    o = community.overview(D1, D2)
    assert (o["posts"], o["votes"], o["questions"]) == (13, 4, 4)


def test_any_interleaving_of_partitions_gives_the_same_state(community: Any) -> None:
    community.story()
    _, want = once(type(community))
    parts = list(by_partition(community.records).values())
    rng = random.Random(7)
    for trial in range(20):
        c = type(community)()
        c.records = list(community.records)
        # each partition keeps its order; partitions interleave at random, batches of 1-4
        queues = [list(p) for p in parts]
        order: list[Any] = []
        while any(queues):
            q = rng.choice([q for q in queues if q])
            order.append(q.pop(0))
        batches, i = [], 0
        while i < len(order):
            n = rng.randint(1, 4)
            batches.append(order[i : i + n])
            i += n
        c.apply(batches)
        assert canonical(c) == want, f"trial {trial}"


def test_a_stale_replica_writing_late_changes_nothing(community: Any) -> None:
    """After a rebalance, the old owner of a partition writes the batch it was holding
    after the new owner has already written it (and more): the guards drop it."""
    community.story()
    _, want = once(type(community))
    recs = community.records
    community.apply([recs])  # the new owner: everything
    community.apply([recs[:12]])  # the old owner wakes up with an old batch
    assert canonical(community) == want


def test_a_racing_writer_before_the_write_is_detected_and_retried(
    community: Any, monkeypatch: Any
) -> None:
    """Another replica applies part of a batch just before this one writes: the guard in
    the update's filter does not match, the store re-reads those documents' guards and
    writes only the rest."""
    community.story()
    _, want = once(type(community))
    recs = community.records
    community.apply([recs[:10]])
    days = community.db["days"]
    raced = {"done": False}
    write = days.bulk_write

    async def racer(ops: Any, ordered: bool = True) -> Any:
        if not raced["done"]:
            raced["done"] = True
            # the other replica, first
            await MetricsProjection(community.store).apply(recs[10:16])
        return await write(ops, ordered=ordered)

    missed: list[Any] = []
    applied = MetricsProjection._applied

    async def spy(self: Any, keys: set[Any]) -> Any:
        missed.extend(keys)
        return await applied(self, keys)

    monkeypatch.setattr(MetricsProjection, "_applied", spy)
    monkeypatch.setattr(days, "bulk_write", racer)
    community.apply([recs[10:]])
    assert raced["done"]
    assert ("days", "2026-11-02") in missed, "the racing write should have made a guard miss"
    assert canonical(community) == want


def test_a_batch_costs_one_write_per_touched_document(community: Any) -> None:
    """No read before writing, no write per event: a 25-event batch is a handful of
    bulk writes, whose statements number the touched documents."""
    community.story()
    recs = community.records
    counted: dict[str, int] = {}
    for name in ("days", "day_users", "threads", "users", "positions"):
        coll = community.db[name]
        write = coll.bulk_write

        async def counting(ops: Any, ordered: bool = True, _n: str = name, _w: Any = write) -> Any:
            ops = list(ops)
            counted[_n] = counted.get(_n, 0) + len(ops)
            return await _w(ops, ordered=ordered)

        coll.bulk_write = counting  # type: ignore[method-assign]
    community.apply([recs])
    docs = snapshot(community.db)
    assert counted["days"] == len(docs["days"]) == 2
    assert counted["day_users"] == len(docs["day_users"])
    assert counted["threads"] == len(docs["threads"])
    assert counted["users"] == len(docs["users"])
    # the same events again: nothing but the one read of the positions
    before = dict(counted)
    community.apply([recs])
    assert counted == before


def test_a_copy_in_another_partition_far_later_counts_once_whatever_the_batches(
    community: Any,
) -> None:
    """An event id is applied once however far away, and in whichever partition, a copy of
    it arrives: small live batches and one large rebuild batch give the same state."""
    community.story()
    _, want = once(type(community))
    original = list(community.records)
    copies = []
    for n, r in enumerate(original[2:20]):
        moved = Received(r.event, r.topic, (r.partition + 1) % 3, 10_000 + n)
        copies.append(moved)
    for size in (1, 3):  # live: small batches, the copies long after their originals
        c = type(community)().story()
        recs = list(c.records) + copies
        c.apply([recs[i : i + size] for i in range(0, len(recs), size)])
        assert canonical(c)["days"] == want["days"], size
        assert canonical(c)["day_users"] == want["day_users"], size
    c = type(community)().story()
    c.apply([copies + list(c.records)])  # a copy ahead of its original in one batch
    assert canonical(c)["days"] == want["days"]
