"""The consumer's projection on the in-memory store: fan-out, collapse, budget, digest items,
and a redelivery that changes nothing (no budget spent twice, no second email intent)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from communitykit.consumer import Received
from communitykit.memory import MemoryDatabase
from notifications.adapters.mongo import NotificationsDb
from notifications.projections.inbox import InboxProjection
from schemas import new_event, topics
from schemas.forum import PostCreated

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def received(events: list[Any], topic: str = topics.FORUM_EVENTS) -> list[Received]:
    return [Received(e, topic, 0, i) for i, e in enumerate(events)]


def thread_with_replies(n: int) -> list[Any]:
    t = uuid.uuid4().hex
    out = [
        new_event(
            PostCreated(
                post_id="op",
                thread_id=t,
                kind="question",
                author_id="asker",
                title="Printer on fire",
                body_length=5,
            ),
            subject=t,
            actor_id="asker",
            time=T0,
        )
    ]
    for i in range(n):
        out.append(
            new_event(
                PostCreated(
                    post_id=f"r{i}",
                    thread_id=t,
                    kind="reply",
                    author_id=f"helper{i % 3}",
                    body_length=5,
                ),
                subject=t,
                actor_id=f"helper{i % 3}",
                time=T0 + timedelta(hours=1, seconds=i),
            )
        )
    return out


@pytest.mark.asyncio
async def test_fifty_replies_collapse_spend_the_budget_and_fold_the_rest_into_the_digest() -> None:
    mem = MemoryDatabase()
    db = NotificationsDb(mem)  # type: ignore[arg-type]
    proj = InboxProjection(db, email_domain="example.test", clock=lambda: T0.timestamp())
    batch = received(thread_with_replies(50))
    await proj.apply(batch)
    notes = [n for n in mem["notifications"].docs.values() if n["recipient"] == "asker"]
    assert len(notes) == 50 and {n["kind"] for n in notes} == {"reply"}
    emails = sum(n["email"] == "pending" for n in notes)
    pushes = sum("in_app" in n["channels"] for n in notes)
    assert 0 < emails <= 7 and 0 < pushes <= 10  # balanced: 7 emails a week, 10 pushes a day
    held = [n for n in notes if n["in_digest"]]
    assert len(held) == 50 - sum(bool(n["channels"]) for n in notes)
    entries = [e for e in mem["inbox"].docs.values() if e["r"] == "asker"]
    assert len(entries) == 1 and entries[0]["count"] == 50
    assert entries[0]["text"] == "50 new replies in Printer on fire"
    digest = next(d for d in mem["digests"].docs.values() if d["r"] == "asker")
    assert len(digest["items"]) == len(held)
    # helpers watch what they answered; each is told of the others' replies
    assert any(
        n["recipient"] == "helper0" and n["kind"] == "watched_post"
        for n in mem["notifications"].docs.values()
    )
    assert not any(n["recipient"] == n.get("author") for n in notes)

    before = {k: dict(v) for k, v in mem["members"].docs.items()}
    notes_before = dict(mem["notifications"].docs)
    digests_before = {k: dict(v) for k, v in mem["digests"].docs.items()}
    proj.clock = lambda: T0.timestamp() + 3 * 86400  # days later: another digest period
    await proj.apply(batch)  # redelivered
    assert mem["notifications"].docs == notes_before
    assert mem["digests"].docs == digests_before  # nothing joins a later digest again
    for k, v in mem["members"].docs.items():
        assert v["budget"] == before[k]["budget"] and v["pos"] == before[k]["pos"]


@pytest.mark.asyncio
async def test_a_lost_notification_write_is_rematerialised_on_redelivery() -> None:
    mem = MemoryDatabase()
    db = NotificationsDb(mem)  # type: ignore[arg-type]
    proj = InboxProjection(db, email_domain="example.test", clock=lambda: T0.timestamp())
    batch = received(thread_with_replies(3))
    await proj.apply(batch)
    kept = dict(mem["notifications"].docs)
    mem["notifications"].docs.clear()  # as if the process died after the member writes
    await proj.apply(batch)
    assert mem["notifications"].docs == kept


@pytest.mark.asyncio
async def test_a_republished_copy_at_a_later_offset_changes_nothing() -> None:
    """A relay that died before marking publishes the same events again, after others: the
    copies (same ids, later offsets) are dropped, in the same batch or in a later one, and
    a redelivery of the batch with the copies still reaches the members' positions."""
    mem = MemoryDatabase()
    db = NotificationsDb(mem)  # type: ignore[arg-type]
    proj = InboxProjection(db, email_domain="example.test", clock=lambda: T0.timestamp())
    events = thread_with_replies(6)
    await proj.apply(received(events[:4]))
    snapshot = {
        c: {k: dict(v) for k, v in mem[c].docs.items()}
        for c in ("notifications", "inbox", "digests")
    }
    budgets = {k: v["budget"] for k, v in mem["members"].docs.items()}
    # the first event (a question: by now the helpers watch its thread) and a reply again
    copies = [Received(events[0], topics.FORUM_EVENTS, 0, 4)]
    copies.append(Received(events[2], topics.FORUM_EVENTS, 0, 5))
    await proj.apply(copies)
    await proj.apply(copies)  # redelivered
    for c, docs in snapshot.items():
        assert {k: dict(v) for k, v in mem[c].docs.items()} == docs, c
    assert {k: v["budget"] for k, v in mem["members"].docs.items()} == budgets
    # the rest, with a copy of one of them inside the same batch
    rest = [Received(e, topics.FORUM_EVENTS, 0, 6 + i) for i, e in enumerate(events[4:])]
    rest.append(Received(events[5], topics.FORUM_EVENTS, 0, 8))
    await proj.apply(rest)
    entries = [e for e in mem["inbox"].docs.values() if e["r"] == "asker"]
    assert [e["count"] for e in entries] == [6]  # six replies, each counted once


def projection(db: MemoryDatabase) -> InboxProjection:
    return InboxProjection(NotificationsDb(db), clock=lambda: T0.timestamp())  # type: ignore[arg-type]


async def kill(*_: Any) -> None:
    raise RuntimeError("kill -9")


def assert_same_outputs(got: MemoryDatabase, want: MemoryDatabase) -> None:
    for c in ("notifications", "inbox", "digests"):
        assert got[c].docs.keys() == want[c].docs.keys(), c


@pytest.mark.asyncio
async def test_a_batch_retried_after_its_facts_were_written_decides_as_the_first_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A crash after the batch wrote what its events taught (helper1 watches the thread
    since its first reply) but before its members: the retry must not let helper1 hear of
    the replies that came before it joined."""
    batch = received(thread_with_replies(6))
    want = MemoryDatabase()
    await projection(want).apply(batch)

    got = MemoryDatabase()
    proj = projection(got)
    monkeypatch.setattr(proj, "_decide_and_write", kill)
    with pytest.raises(RuntimeError):
        await proj.apply(batch)
    assert got["follows"].docs  # the facts were written
    monkeypatch.undo()
    await proj.apply(batch)
    assert_same_outputs(got, want)
    budgets = {k: v["budget"] for k, v in got["members"].docs.items()}
    assert budgets == {k: v["budget"] for k, v in want["members"].docs.items()}


@pytest.mark.asyncio
async def test_two_crashes_before_the_notification_writes_lose_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A crash after the member writes, then a redelivery that adds new events to the old
    ones and crashes at the same place again: the third attempt still writes every one."""
    events = thread_with_replies(6)
    want = MemoryDatabase()
    await projection(want).apply(received(events))

    got = MemoryDatabase()
    proj = projection(got)
    monkeypatch.setattr(proj, "_write_outputs", kill)
    with pytest.raises(RuntimeError):
        await proj.apply(received(events[:4]))
    with pytest.raises(RuntimeError):
        await proj.apply(received(events))  # the redelivery reads further
    assert not got["notifications"].docs
    monkeypatch.undo()
    await proj.apply(received(events))
    assert_same_outputs(got, want)
