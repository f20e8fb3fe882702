"""Notifications under chaos (issue 25 item 9): the inbox, the digests and every decision
equal the oracle's fold of the topic after kill -9 of the service mid-batch (between its
store write and its offset commit, and at random moments), a broker kill -9 and restart,
and records published twice.

The topic is the source of truth: the test publishes a community's forum traffic itself
(questions, replies to the thread or to a post, @mentions of known and unknown users) on ONE
partition of ``forum.events``, with event times 20 seconds apart, so that every member's
decisions have one order; the budget (balanced preset: 10 pushes a day, 7 emails a week,
shrinking after ignored runs; "you were just here") holds most of it back into the digests.
The oracle folds the distinct events in partition order with the service's pure domain code
(``recipients.candidates`` over one ``World``, ``budget.decide`` per member, the inbox's
collapse by group, the digest period of the event's time) and compares, per document:
every notification (recipient, kind, channels, reason, in digest, entry), every inbox entry
(member, group, kind, text, count, latest), every digest (its items) and every member's
budget (pushes, emails, shrink, ignored run, last visit, held counts).

The sender is off (no SMTP server here): decisions still spend the email budget."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from communitykit.consumer import Received
from notifications.domain.budget import BudgetState, decide, on_visit
from notifications.domain.classes import priority_of
from notifications.domain.digest import period_of
from notifications.domain.preferences import Preferences
from notifications.domain.recipients import World, actors, candidates
from schemas import new_event, topics
from schemas.forum import PostCreated

from ..conftest import commit_end_offsets, service_env
from . import oracle
from .conftest import Launched, committed, faults_of, record
from .test_kill_consumers import wait_for_write

pytestmark = [pytest.mark.chaos, pytest.mark.asyncio(loop_scope="session")]

TOPIC = topics.FORUM_EVENTS
CONSUMES = [
    topics.FORUM_EVENTS,
    topics.IDEAS_EVENTS,
    topics.REPUTATION_EVENTS,
    topics.GATHERINGS_EVENTS,
    topics.MEDIA_EVENTS,
    topics.ANALYTICS_EVENTS,
    topics.NOTIFICATIONS_EVENTS,
]
DOMAIN = "chaos.test"
MEMBERS, THREADS, EVENTS = 30, 6, 240
Doc = dict[str, Any]


# ----------------------------------------------------------------------------- traffic


def traffic(seed: int, tag: str, start: datetime) -> list[Any]:
    """Questions, then replies (to the thread or to a post, some mentioning a member or a
    stranger), 20 seconds apart (most members are back within 10 minutes, not all)."""
    rng = random.Random(seed)
    people = [f"m{i}-{tag}" for i in range(MEMBERS)]
    out: list[Any] = []
    threads: dict[str, list[tuple[str, str]]] = {}
    for n in range(EVENTS):
        at = start + timedelta(seconds=20 * n)
        who = rng.choice(people)
        if n < THREADS or rng.random() < 0.03:
            tid = f"t{len(threads)}-{tag}"
            pid = f"{tid}-p0"
            threads[tid] = [(pid, who)]
            data = PostCreated(
                post_id=pid,
                thread_id=tid,
                kind="question",
                author_id=who,
                title=f"Router {len(threads)} blinks",
                body_length=20,
                body="It blinks orange.",
            )
        else:
            tid = rng.choice(sorted(threads))
            parent, _ = rng.choice(threads[tid])
            pid = f"{tid}-p{len(threads[tid])}"
            roll = rng.random()
            body = "Hold the button."
            if roll < 0.15:
                body = f"@{rng.choice(people)} knows this."
            elif roll < 0.2:
                body = f"@nobody-{tag} said so."
            threads[tid].append((pid, who))
            data = PostCreated(
                post_id=pid,
                thread_id=tid,
                parent_post_id=parent if rng.random() < 0.5 else None,
                kind="reply",
                author_id=who,
                body_length=len(body),
                body=body,
            )
        out.append(new_event(data, subject=tid, actor_id=who, time=at))
    return out


async def publish(bootstrap: str, events: list[Any], partition: int = 0) -> None:
    """Every event on one partition (one order for every member's decisions), in order; a
    send the broker did not acknowledge (it is restarting) is sent again (a duplicate at
    worst, which the service must ignore)."""
    todo = list(events)
    deadline = time.monotonic() + 180
    while todo:
        p = AIOKafkaProducer(
            bootstrap_servers=bootstrap, enable_idempotence=True, request_timeout_ms=10000
        )
        try:
            await p.start()
            while todo:
                e = todo[0]
                await p.send_and_wait(
                    TOPIC,
                    e.to_bytes(),
                    key=e.partitionkey.encode(),
                    partition=partition,
                    headers=[("event-type", e.type.encode())],
                )
                todo.pop(0)
        except KafkaError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(1)
        finally:
            await p.stop()


async def republish_in_place(bootstrap: str, records: list[oracle.Record]) -> int:
    """Publish ``records`` again byte for byte, each to its own partition: what an outbox
    relay that died before marking does (its copies carry the original's key, so they land
    in the original's partition; this test's events were all placed on one partition)."""
    p = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, linger_ms=5)
    await p.start()
    try:
        for r in records:
            await p.send_and_wait(
                r.topic, r.value, key=r.key, headers=list(r.headers), partition=r.partition
            )
    finally:
        await p.stop()
    return len(records)


# ----------------------------------------------------------------------------- oracle


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def _ms(t: datetime) -> str:
    return _aware(t).astimezone(UTC).isoformat(timespec="milliseconds")


def notifications_oracle(events: list[Received], now: float) -> dict[str, dict[str, Doc]]:
    """Every notification, inbox entry, digest and member budget the distinct ``events``
    call for, decided in order (no member reads anything here, so every group stays open)."""
    world = World()
    prefs = Preferences()  # nobody set any: the default, with an address at DOMAIN
    budgets: dict[str, BudgetState] = defaultdict(BudgetState)
    open_: dict[tuple[str, str], str] = {}  # (member, group) -> entry id
    notes: dict[str, Doc] = {}
    entries: dict[str, Doc] = {}
    digests: dict[str, Doc] = {}
    for r in events:
        ev = r.event
        found = candidates(ev, world)
        for a in sorted(actors(ev)):
            on_visit(budgets[a], ev.time)
        for c in found:
            d = decide(c.kind, prefs, budgets[c.recipient], ev.time, level=c.level)
            entry = None
            if d.reason != "muted":
                entry = open_.setdefault((c.recipient, c.group), "e_" + c.notification_id[2:26])
                e = entries.get(entry)
                count = 1 if e is None else e["count"] + 1
                text = c.text
                if count > 1:
                    text = (c.many or "{n} x " + c.text).replace("{n}", str(count))
                entries[entry] = {
                    "r": c.recipient,
                    "group": c.group,
                    "kind": c.kind,
                    "text": text,
                    "count": count,
                    "latest": _ms(ev.time),
                }
            notes[c.notification_id] = {
                "recipient": c.recipient,
                "kind": c.kind,
                "priority": priority_of(c.kind).label,
                "channels": list(d.channels),
                "reason": d.reason,
                "in_digest": d.in_digest,
                "entry": entry,
            }
            if d.in_digest:
                period, end = period_of(_aware(ev.time), prefs.digest, None)
                if end + 60.0 < now:  # the grace passed: it joins the current period
                    period, _ = period_of(datetime.fromtimestamp(now, UTC), prefs.digest, None)
                dg = digests.setdefault(f"d_{c.recipient}_{period}", {"r": c.recipient})
                dg.setdefault("items", []).append(c.notification_id)
    members = {m: _budget(b.to_doc()) for m, b in budgets.items()}
    return {
        "notification": notes,
        "inbox entry": entries,
        "digest": {k: {**v, "items": sorted(v["items"])} for k, v in digests.items()},
        "member budget": members,
    }


def _budget(b: Doc) -> Doc:
    return {
        "pushes": sorted(float(x) for x in b.get("pushes", [])),
        "emails": sorted(float(x) for x in b.get("emails", [])),
        "shrink": b.get("shrink", 0),
        "ignored_run": b.get("ignored_run", 0),
        "last_active": b.get("last_active"),
        "held": {k: v for k, v in (b.get("held") or {}).items() if v},
    }


async def notifications_live(mongo: Any, db: str) -> dict[str, dict[str, Doc]]:
    d = mongo[db]
    notes = {
        n["_id"]: {
            "recipient": n["recipient"],
            "kind": n["kind"],
            "priority": n["priority"],
            "channels": list(n.get("channels") or []),
            "reason": n.get("reason"),
            "in_digest": bool(n.get("in_digest")),
            "entry": n.get("entry"),
        }
        async for n in d["notifications"].find({})
    }
    entries = {
        e["_id"]: {
            "r": e["r"],
            "group": e["group"],
            "kind": e["kind"],
            "text": e["text"],
            "count": e["count"],
            "latest": _ms(e["latest"]),
        }
        async for e in d["inbox"].find({})
    }
    digests = {
        g["_id"]: {"r": g["r"], "items": sorted(g.get("items") or {})}
        async for g in d["digests"].find({})
    }
    members = {
        m["_id"]: _budget(m.get("budget") or {}) async for m in d["members"].find({}, {"budget": 1})
    }
    return {
        "notification": notes,
        "inbox entry": entries,
        "digest": digests,
        "member budget": members,
    }


# ----------------------------------------------------------------------------- the test


async def settled(bootstrap: str, group: str, timeout: float = 120) -> oracle.Offsets:
    """The group's committed offsets at the end of the topic, twice in a row."""
    deadline = time.monotonic() + timeout
    last: oracle.Offsets | None = None
    while time.monotonic() < deadline:
        ends = await oracle.end_offsets(bootstrap, [TOPIC])
        got = await committed(bootstrap, group)
        done = all(got.get(tp, 0) >= end for tp, end in ends.items() if end)
        if done and ends == last:
            return ends
        last = ends if done else None
        await asyncio.sleep(1)
    raise AssertionError(f"notifications did not catch up within {timeout}s")


async def scenario(servers: Any, mongo: Any, name: str, broker_restart: bool) -> None:
    """The traffic in two halves with the faults in between, then the comparison."""
    kafka = servers.kafka
    suffix = f"c{uuid.uuid4().hex[:6]}"
    env = service_env(
        servers,
        "notifications",
        suffix,
        CHAOS_COMMIT_DELAY_SECONDS="0.5",
        NOTIFICATIONS_CONSUMER_MAX_RECORDS="20",
        NOTIFICATIONS_EMAIL_DOMAIN=DOMAIN,
        NOTIFICATIONS_SENDER_ENABLED="false",
    )
    db, group = env["NOTIFICATIONS_MONGODB_DATABASE"], env["NOTIFICATIONS_CONSUMER_GROUP"]
    proc = Launched("notifications", env)
    tag = uuid.uuid4().hex[:4]
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=20 * EVENTS + 60)
    # history before the group's start, which the service must never read (a consumer that
    # lost its committed offsets after the broker restart started over from offset 0)
    await publish(kafka, traffic(3, "old" + tag, start)[:30])
    await commit_end_offsets(kafka, group, CONSUMES)
    origin = await oracle.end_offsets(kafka, [TOPIC])
    events = traffic(7, tag, start)
    first, second = events[: EVENTS // 2], events[EVENTS // 2 :]
    counts = {"kill -9 between write and commit": 0, "kill -9 at random": 0}
    counts |= {"broker kill -9 + restart": 0, "republished": 0}
    rng = random.Random(7)
    distinct: list[Received] = []
    lines: list[str] = []
    try:
        await asyncio.to_thread(proc.start, 120)

        async def kill_in_window() -> None:
            for _ in range(2):
                if await wait_for_write(proc.log, timeout=30):
                    await asyncio.to_thread(proc.kill)
                    counts["kill -9 between write and commit"] += 1
                    await asyncio.to_thread(proc.start, 120)

        # half the traffic while the service is killed between a batch's write and commit
        killing = asyncio.create_task(kill_in_window())
        await publish(kafka, first)
        await killing
        if broker_restart:  # the broker dies and comes back; the service reconnects
            faults = faults_of(servers)
            await asyncio.to_thread(faults.kill, "kafka")
            await asyncio.sleep(2)
            await asyncio.to_thread(faults.restart, "kafka")
            counts["broker kill -9 + restart"] += 1

        # the rest of the traffic with a kill -9 at a random moment
        async def kill_at_random() -> None:
            await asyncio.sleep(rng.uniform(1.0, 3.0))
            await asyncio.to_thread(proc.kill)
            counts["kill -9 at random"] += 1
            await asyncio.to_thread(proc.start, 120)

        await asyncio.gather(publish(kafka, second), kill_at_random())
        # a relay that died before marking: a slice of the records once more, byte for byte
        ends = await settled(kafka, group)
        again = [r for r in await oracle.read(kafka, ends, origin) if r.value is not None]
        dup = again[EVENTS // 4 : EVENTS // 4 + 40] + again[-20:]
        counts["republished"] = await republish_in_place(kafka, dup)
        ends = await settled(kafka, group)

        records = await oracle.read(kafka, ends, origin)
        distinct = oracle.distinct(records, [TOPIC])
        want = notifications_oracle(distinct, time.time())
        got = await notifications_live(mongo, db)
        for what in want:
            lines += oracle.differences(want[what], got[what], what)
    finally:
        await asyncio.to_thread(proc.stop)
        record(
            name,
            ", ".join(
                f"{n} {k}" for k, n in counts.items() if n or k != "broker kill -9 + restart"
            ),
            len(distinct),
            oracle.count_differences(lines),
        )
    assert lines == [], "\n".join(lines)
    assert len(distinct) == EVENTS, len(distinct)
    assert counts["kill -9 between write and commit"] >= 1, counts
    assert counts["republished"] > 0
    # the traffic exercised what the oracle checks: held items in digests, collapsed entries
    assert want["digest"] and any(e["count"] > 1 for e in want["inbox entry"].values())
    assert any(n["reason"] == "budget" for n in want["notification"].values())


async def test_inbox_and_digests_after_kills_and_duplicates(servers: Any, mongo: Any) -> None:
    """On the session's servers (the faults are the service's: kill -9, duplicates)."""
    await scenario(servers, mongo, "notifications: kill -9, duplicates", broker_restart=False)


async def test_inbox_and_digests_after_a_broker_restart(chaos_servers: Any, cmongo: Any) -> None:
    """The same with the broker killed -9 and restarted between the halves (private
    servers: their start and the broker's restart take most of this test's time)."""
    await scenario(chaos_servers, cmongo, "notifications: broker restart", broker_restart=True)
