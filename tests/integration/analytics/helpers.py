"""Analytics under test: a real process on its own database and consumer group, and a
small event builder that produces hand-made events to the real topics."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from schemas import Envelope, EventData, new_event, topics
from schemas import forum as f
from schemas import ideas as i

from ...conftest import ServiceProcess, from_end, group_of, service_env
from ...servers import Servers


@asynccontextmanager
async def analytics(servers: Servers, suffix: str, **env: str) -> AsyncIterator[ServiceProcess]:
    """An analytics process whose group starts at the end of its topics."""
    proc = ServiceProcess("analytics", service_env(servers, "analytics", suffix, **env))
    await asyncio.to_thread(from_end, servers, proc)
    await asyncio.to_thread(proc.start)
    try:
        yield proc
    finally:
        await asyncio.to_thread(proc.stop)


Marks = dict[TopicPartition, int]


async def caught_up(servers: Servers, proc: ServiceProcess, marks: Marks | None = None) -> bool:
    """Has the process's group committed past ``marks`` (the records a test produced; the
    shared topics may meanwhile grow with other producers' records), or, without marks,
    the end of every topic it reads?"""
    if marks is None:
        tps = [
            TopicPartition(t, p)
            for t in (topics.FORUM_EVENTS, topics.IDEAS_EVENTS, topics.REPUTATION_EVENTS)
            for p in range(topics.EVENT_TOPIC_PARTITIONS)
        ]
        c = AIOKafkaConsumer(bootstrap_servers=servers.kafka, enable_auto_commit=False)
        await c.start()
        try:
            marks = dict(await c.end_offsets(tps))
        finally:
            await c.stop()
    admin = AIOKafkaAdminClient(bootstrap_servers=servers.kafka)
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(group_of(proc))
    finally:
        await admin.close()
    return all(tp in committed and committed[tp].offset >= end for tp, end in marks.items())


def at(d: date, hour: int, minute: int = 0) -> datetime:
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=UTC)


class Story:
    """Hand-made events with explicit times, each on its real topic with its real key."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.events: list[tuple[str, Envelope[Any]]] = []

    def u(self, name: str) -> str:
        return f"{name}-{self.tag}"

    def _emit(self, topic: str, data: EventData, key: str, actor: str | None, t: datetime) -> None:
        self.events.append((topic, new_event(data, subject=key, actor_id=actor, time=t)))

    def post(self, t: datetime, author: str, kind: str, thread: str, **kw: Any) -> str:
        post = thread if kind != "reply" else f"{thread}-r{len(self.events)}"
        parent = thread if kind == "reply" else None
        data = f.PostCreated(
            post_id=post,
            thread_id=thread,
            parent_post_id=parent,
            kind=kind,  # type: ignore[arg-type]
            author_id=author,
            title=None if parent else "t",
            body_length=10,
            **kw,
        )
        self._emit(topics.FORUM_EVENTS, data, thread, author, t)
        return post

    def vote(self, t: datetime, voter: str, thread: str, post: str, kind: str, author: str) -> None:
        data = f.VoteCast(
            target_id=post,
            thread_id=thread,
            target_kind=kind,  # type: ignore[arg-type]
            target_author_id=author,
            voter_id=voter,
            value=1,
            previous_value=0,
        )
        self._emit(topics.FORUM_EVENTS, data, thread, voter, t)

    def accept(self, t: datetime, asker: str, thread: str, post: str, author: str) -> None:
        data = f.AnswerAccepted(
            thread_id=thread,
            answer_post_id=post,
            answer_author_id=author,
            question_author_id=asker,
        )
        self._emit(topics.FORUM_EVENTS, data, thread, asker, t)

    def escalate(self, t: datetime, thread: str, asker: str, asked: datetime) -> None:
        data = f.QuestionEscalated(
            thread_id=thread,
            question_author_id=asker,
            asked_at=asked,
            escalated_at=t,
            waited_seconds=int((t - asked).total_seconds()),
            reason="unanswered",
        )
        self._emit(topics.FORUM_EVENTS, data, thread, None, t)

    def resolve(self, t: datetime, thread: str, by: str) -> None:
        data = f.EscalationResolved(
            thread_id=thread, resolved_by=by, resolution="answered_by_support"
        )
        self._emit(topics.FORUM_EVENTS, data, thread, by, t)

    def delete(self, t: datetime, by: str, thread: str) -> None:
        data = f.PostDeleted(
            post_id=thread, thread_id=thread, author_id=by, deleted_by=by, kind="review"
        )
        self._emit(topics.FORUM_EVENTS, data, thread, by, t)

    def idea(self, t: datetime, author: str, idea: str) -> None:
        data = i.IdeaSubmitted(
            idea_id=idea, author_id=author, title="i", category="c", product_area="p"
        )
        self._emit(topics.IDEAS_EVENTS, data, idea, author, t)

    def idea_vote(self, t: datetime, voter: str, idea: str, author: str) -> None:
        data = i.IdeaVoteCast(
            target_id=idea, target_author_id=author, voter_id=voter, value=1, previous_value=0
        )
        self._emit(topics.IDEAS_EVENTS, data, idea, voter, t)

    def status(self, t: datetime, staff: str, idea: str, author: str, frm: str, to: str) -> None:
        data = i.IdeaStatusChanged(
            idea_id=idea,
            author_id=author,
            from_status=frm,  # type: ignore[arg-type]
            to_status=to,  # type: ignore[arg-type]
            changed_by=staff,
        )
        self._emit(topics.IDEAS_EVENTS, data, idea, staff, t)


async def produce(bootstrap: str, events: list[tuple[str, Envelope[Any]]]) -> None:
    p = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await p.start()
    try:
        futs = [
            await p.send(topic, e.to_bytes(), key=e.key, headers=e.headers()) for topic, e in events
        ]
        await asyncio.gather(*futs)
    finally:
        await p.stop()
