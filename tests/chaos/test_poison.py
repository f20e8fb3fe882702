"""Item 6: poison records of three kinds amid traffic → each on its DLQ within 5 s with the
SPEC 2.2 headers; nothing else delayed by more than 5 s; projections equal the oracle.

On each of forum.events, ideas.events and reputation.events, while the load runs: a record
that is not JSON, a CloudEvent whose data breaks its schema, and an unknown version (v9) of
a known event; right behind them, on the same key (so the same partition), a valid probe
event. Every consumer group of the topic must dead-letter each poison record (byte for byte,
original headers kept, the six ``dlq-*`` headers right) within 5 s of its publication (by
the records' own timestamps), and must have applied the probe within 5 s as well."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from schemas import Envelope, new_event, topics
from schemas.forum import PostCreated
from schemas.ideas import IdeaSubmitted
from schemas.reputation import ReputationChanged

from ..conftest import group_of
from .conftest import Load, Stack, committed, compare, record, search_position, settle

pytestmark = [pytest.mark.chaos, pytest.mark.asyncio(loop_scope="session")]

LIMIT = 5.0
CE = [("content-type", b"application/cloudevents+json; charset=utf-8")]


def valid(topic: str, key: str) -> Envelope[Any]:
    if topic == topics.FORUM_EVENTS:
        return new_event(
            PostCreated(
                post_id=f"{key}-p",
                thread_id=key,
                kind="question",
                author_id=f"a-{key}",
                title="Probe",
                body_length=5,
                body="probe",
            ),
            subject=key,
            actor_id=f"a-{key}",
        )
    if topic == topics.IDEAS_EVENTS:
        return new_event(
            IdeaSubmitted(
                idea_id=key,
                author_id=f"a-{key}",
                title="Probe",
                category="c",
                product_area="p",
            ),
            subject=key,
            actor_id=f"a-{key}",
        )
    return new_event(
        ReputationChanged(
            user_id=key, delta=5, total=6, reason="probe", source_event_id=str(uuid.uuid4())
        ),
        subject=key,
    )


def poison(topic: str, key: str) -> list[tuple[str, bytes]]:
    """(kind, value) of the three poison records."""
    good = valid(topic, key).to_dict()
    broken = {
        **good,
        "id": str(uuid.uuid4()),
        "data": {**good["data"], "user_id": 7, "idea_id": 7, "thread_id": 7},
    }
    v9 = {**good, "id": str(uuid.uuid4()), "type": good["type"].rsplit(".", 1)[0] + ".v9"}
    return [
        ("not json", b"{not json"),
        ("schema violation", orjson.dumps(broken)),
        ("unknown version", orjson.dumps(v9)),
    ]


def groups(stack: Stack) -> dict[str, list[str]]:
    """topic → the consumer groups (by service) that read it."""
    return {
        topics.FORUM_EVENTS: ["reputation", "analytics", "search"],
        topics.IDEAS_EVENTS: ["reputation", "analytics", "search"],
        topics.REPUTATION_EVENTS: ["forum", "analytics"],
    }


#: groups that dead-letter a topic's poison too, beside those whose probes are checked: the
#: forum's own projection of forum.events (services/forum projections/threads.py)
ALSO_DEAD_LETTER = {topics.FORUM_EVENTS: ["forum-threads"]}


def dlq_name(stack: Stack, group: str | None) -> str | None:
    """Which consumer a ``dlq-consumer-group`` header names (service, or forum-threads)."""
    for n in stack.procs:
        if group_of(stack[n]) == group:
            return n
        if stack[n].env.get(f"{n.upper()}_THREADS_CONSUMER_GROUP") == group:
            return f"{n}-threads"
    return None


async def applied_at(stack: Stack, name: str, tp: TopicPartition, offset: int) -> float | None:
    """Wall time when service ``name`` has applied the record at ``offset`` (or None)."""
    deadline = time.monotonic() + 3 * LIMIT
    while time.monotonic() < deadline:
        if name == "search":
            done = search_position(stack).get(tp, 0) > offset
        else:
            done = (await committed(stack.servers.kafka, group_of(stack[name]))).get(tp, 0) > offset
        if done:
            return time.time()
        await asyncio.sleep(0.1)
    return None


async def test_poison_records_go_to_their_dlq_within_5s(stack_factory: Any, cmongo: Any) -> None:
    stack = stack_factory()
    await asyncio.to_thread(stack.start)
    by_topic = groups(stack)
    dlq = AIOKafkaConsumer(bootstrap_servers=stack.servers.kafka, enable_auto_commit=False)
    await dlq.start()
    load = Load(stack, seed=6)
    traffic = asyncio.create_task(load.run(600, concurrency=2))
    problems: list[str] = []
    sent: dict[tuple[str, int, int], tuple[str, bytes, int]] = {}
    try:
        tps = [TopicPartition(topics.dlq(t), 0) for t in by_topic]
        dlq.assign(tps)
        await dlq.seek_to_end(*tps)
        for tp in tps:
            await dlq.position(tp)
        await asyncio.sleep(5)  # traffic flowing
        producer = AIOKafkaProducer(bootstrap_servers=stack.servers.kafka, enable_idempotence=True)
        await producer.start()
        probes = []
        try:
            for topic in by_topic:
                key = f"poison-{uuid.uuid4().hex[:8]}"
                for kind, value in poison(topic, key):
                    md = await producer.send_and_wait(topic, value, key=key.encode(), headers=CE)
                    sent[(topic, md.partition, md.offset)] = (kind, value, md.timestamp)
                probe = valid(topic, key)
                md = await producer.send_and_wait(
                    topic, probe.to_bytes(), key=probe.key, headers=probe.headers()
                )
                probes.append((topic, TopicPartition(topic, md.partition), md.offset, md.timestamp))
        finally:
            await producer.stop()
        # the probes: applied by every group within the limit
        waits = [
            (topic, name, ts, applied_at(stack, name, tp, off))
            for topic, tp, off, ts in probes
            for name in by_topic[topic]
        ]
        done = await asyncio.gather(*(w[3] for w in waits))
        for (topic, name, ts, _), at in zip(waits, done, strict=True):
            if at is None or at - ts / 1000 > LIMIT:
                problems.append(f"{name} applied the probe on {topic} late: {at} vs {ts / 1000}")
        # the dead letters
        expected = {
            (t, p, o, name)
            for (t, p, o) in sent
            for name in by_topic[t] + ALSO_DEAD_LETTER.get(t, [])
        }
        got: dict[tuple[str, int, int, str], Any] = {}
        deadline = time.monotonic() + 3 * LIMIT
        while len(got) < len(expected) and time.monotonic() < deadline:
            for records in (await dlq.getmany(timeout_ms=300)).values():
                for r in records:
                    h = {k: v.decode() for k, v in r.headers}
                    svc = dlq_name(stack, h.get("dlq-consumer-group"))
                    where = (
                        h.get("dlq-original-topic", ""),
                        int(h.get("dlq-original-partition", -1)),
                        int(h.get("dlq-original-offset", -1)),
                        svc or "?",
                    )
                    got[where] = r
    finally:
        traffic.cancel()
        await asyncio.gather(traffic, return_exceptions=True)
        await dlq.stop()
    for where in sorted(expected):
        topic, partition, offset, name = where
        kind, value, ts = sent[(topic, partition, offset)]
        r = got.get(where)
        if r is None:
            problems.append(f"{name}: {kind} from {topic} never reached {topics.dlq(topic)}")
            continue
        h = {k: v.decode() for k, v in r.headers}
        if r.value != value or r.topic != topics.dlq(topic):
            problems.append(f"{name}: {kind} dead-lettered altered")
        if r.timestamp - ts > LIMIT * 1000:
            problems.append(f"{name}: {kind} on the DLQ after {(r.timestamp - ts) / 1000:.1f}s")
        if not h.get("dlq-error", "").startswith("PoisonEventError"):
            problems.append(f"{name}: {kind} dlq-error {h.get('dlq-error')!r}")
        failed_at = datetime.fromisoformat(h.get("dlq-failed-at", "1970-01-01T00:00:00Z"))
        if abs(failed_at.timestamp() - r.timestamp / 1000) > 2 or failed_at.tzinfo is None:
            problems.append(f"{name}: {kind} dlq-failed-at {h.get('dlq-failed-at')!r}")
        if not h.get("content-type", "").startswith("application/cloudevents+json"):
            problems.append(f"{name}: {kind} lost its original headers")
    # each group dead-letters a partition's poison records in their original order
    for topic in by_topic:
        for name in by_topic[topic] + ALSO_DEAD_LETTER.get(topic, []):
            mine = sorted(
                (r.offset, int(dict(r.headers)["dlq-original-offset"]))
                for (t, _, _, n), r in got.items()
                if t == topic and n == name
            )
            if [o for _, o in mine] != sorted(o for _, o in mine):
                problems.append(f"{name}: dead letters of {topic} out of order: {mine}")
    extra = set(got) - expected
    problems += [f"unexpected dead letter {w}" for w in sorted(extra)]
    ends = await settle(stack, cmongo)
    verdict = await compare(stack, cmongo, ends)
    record(
        "6 poison records",
        f"{len(sent)} poison (3 kinds x 3 topics) -> {len(expected)} dead letters",
        verdict.events,
        verdict.differences + len(problems),
    )
    assert problems == [], "\n".join(problems)
    assert len(load.ok()) > 20
    assert verdict.lines == [], "\n".join(verdict.lines)
