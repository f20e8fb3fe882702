"""At-least-once in, exactly-once effect (SPEC 6): redelivered batches, other batch
boundaries, partitions interleaved differently and a stale replica writing late all end
in the state of one ordered application."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

from analytics.adapters.mongo import normalize
from analytics.projections.store import MetricsProjection

D1, D2 = date(2026, 11, 2), date(2026, 11, 3)


def canonical(c: Any) -> dict[str, Any]:
    return {
        name: {k: normalize(name, d) for k, d in docs.items()}
        for name, docs in c.db.snapshot().items()
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


def test_a_racing_writer_between_read_and_write_is_detected_and_retried(
    community: Any, monkeypatch: Any
) -> None:
    """Another replica applies part of a batch between this one's read of the guards and
    its write: the guard does not match, the store re-reads and writes only the rest."""
    community.story()
    _, want = once(type(community))
    recs = community.records
    community.apply([recs[:10]])
    days = community.db["days"]
    raced = {"done": False}

    async def racer(coll: Any, op: Any) -> None:
        if not raced["done"]:
            raced["done"] = True
            # the other replica, first
            await MetricsProjection(community.store).apply(recs[10:16])

    missed: list[Any] = []
    unapplied = MetricsProjection._unapplied

    async def spy(self: Any, coll: str, items: list[Any]) -> Any:
        out = await unapplied(self, coll, items)
        missed.extend(out)
        return out

    monkeypatch.setattr(MetricsProjection, "_unapplied", spy)
    days.before_write = racer
    community.apply([recs[10:]])
    assert raced["done"]
    assert missed, "the racing write should have made a guard miss"
    assert canonical(community) == want
