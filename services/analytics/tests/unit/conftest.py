"""Analytics unit tests: hand-made events → the real projection code over an in-memory
store (same interface as the few MongoDB calls it makes) → the real HTTP handlers.

``Community`` builds envelopes from the real event models with explicit times, gives each
a topic, a partition (by key, like Kafka) and an offset, and applies batches through
``MetricsProjection``, over the kit's in-memory store (``communitykit.memory``: the same
queries, update operators, upserts and duplicate keys as the server).
"""

from __future__ import annotations

import asyncio
import copy
import zlib
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import pytest

from analytics.adapters.mongo import AnalyticsDb
from analytics.config import Settings
from analytics.entrypoints import http
from analytics.projections.store import MetricsProjection
from communitykit.consumer import Received
from communitykit.memory import MemoryDatabase
from schemas import Envelope, EventData, new_event, topics
from schemas import forum as f
from schemas import ideas as i

Doc = dict[str, Any]
D1, D2 = date(2026, 11, 2), date(2026, 11, 3)
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def at(d: date, hour: int, minute: int = 0) -> datetime:
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=UTC)


def snapshot(db: MemoryDatabase) -> dict[str, dict[str, Doc]]:
    """Every stored document, by collection and _id (empty collections left out)."""
    names = asyncio.run(db.list_collection_names())
    return {n: copy.deepcopy(db[n].docs) for n in names if db[n].docs}


class Community:
    """A tiny community: every action is one real envelope on its real topic."""

    def __init__(self) -> None:
        self.records: list[Received] = []
        self._offsets: dict[tuple[str, int], int] = {}
        self.db = MemoryDatabase()
        self.store = AnalyticsDb(self.db)  # type: ignore[arg-type]
        self.settings = Settings(escalation_after_seconds=86400)
        self._n = 0

    def _emit(self, topic: str, data: EventData, key: str, actor: str | None, t: datetime) -> None:
        self._n += 1
        env: Envelope[Any] = new_event(
            data, subject=key, actor_id=actor, time=t, event_id=f"evt-{self._n:05d}"
        )
        partition = zlib.crc32(key.encode()) % topics.EVENT_TOPIC_PARTITIONS
        off = self._offsets.get((topic, partition), 0)
        self._offsets[(topic, partition)] = off + 1
        self.records.append(Received(env, topic, partition, off))

    # forum
    def post(
        self, t: datetime, author: str, kind: str, thread: str, post: str | None = None, **kw: Any
    ) -> str:
        post = post or (thread if kind != "reply" else f"{thread}-r{self._n}")
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

    def vote(
        self,
        t: datetime,
        voter: str,
        thread: str,
        post: str,
        kind: str,
        author: str,
        value: int,
        previous: int = 0,
    ) -> None:
        data = f.VoteCast(
            target_id=post,
            thread_id=thread,
            target_kind=kind,
            target_author_id=author,  # type: ignore[arg-type]
            voter_id=voter,
            value=value,
            previous_value=previous,  # type: ignore[arg-type]
        )
        self._emit(topics.FORUM_EVENTS, data, thread, voter, t)

    def accept(
        self, t: datetime, asker: str, thread: str, post: str, author: str, undo: bool = False
    ) -> None:
        cls = f.AnswerUnaccepted if undo else f.AnswerAccepted
        data = cls(
            thread_id=thread, answer_post_id=post, answer_author_id=author, question_author_id=asker
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

    def resolve(self, t: datetime, thread: str, by: str, resolution: str) -> None:
        data = f.EscalationResolved(thread_id=thread, resolved_by=by, resolution=resolution)  # type: ignore[arg-type]
        self._emit(topics.FORUM_EVENTS, data, thread, by, t)

    def delete(self, t: datetime, by: str, thread: str, post: str, author: str, kind: str) -> None:
        data = f.PostDeleted(
            post_id=post, thread_id=thread, author_id=author, deleted_by=by, kind=kind
        )  # type: ignore[arg-type]
        self._emit(topics.FORUM_EVENTS, data, thread, by, t)

    # ideas
    def idea(self, t: datetime, author: str, idea: str) -> None:
        data = i.IdeaSubmitted(
            idea_id=idea, author_id=author, title="i", category="c", product_area="p"
        )
        self._emit(topics.IDEAS_EVENTS, data, idea, author, t)

    def idea_vote(
        self, t: datetime, voter: str, idea: str, author: str, value: int = 1, previous: int = 0
    ) -> None:
        data = i.IdeaVoteCast(
            target_id=idea,
            target_author_id=author,
            voter_id=voter,
            value=value,
            previous_value=previous,
        )  # type: ignore[arg-type]
        self._emit(topics.IDEAS_EVENTS, data, idea, voter, t)

    def status(self, t: datetime, staff: str, idea: str, author: str, frm: str, to: str) -> None:
        data = i.IdeaStatusChanged(
            idea_id=idea, author_id=author, from_status=frm, to_status=to, changed_by=staff
        )  # type: ignore[arg-type]
        self._emit(topics.IDEAS_EVENTS, data, idea, staff, t)

    def republish(self, records: Sequence[Received]) -> list[Received]:
        """The same events published again (an outbox relay that crashed between publishing
        and marking): same ids, new offsets, same partitions."""
        out = []
        for r in records:
            off = self._offsets[(r.topic, r.partition)]
            self._offsets[(r.topic, r.partition)] = off + 1
            out.append(Received(r.event, r.topic, r.partition, off))
        self.records.extend(out)
        return out

    def story(self) -> Community:
        story(self)
        return self

    # applying
    def apply(self, batches: Sequence[Sequence[Received]] | None = None) -> None:
        projection = MetricsProjection(self.store)
        for b in batches if batches is not None else [self.records]:
            asyncio.run(projection.apply(list(b)))

    # reading, through the real HTTP handlers
    def _call(self, coro: Any) -> Any:
        return asyncio.run(coro)

    def overview(self, start: date, end: date) -> dict[str, Any]:
        return self._call(http.overview(self.store, self.settings, start, end))

    def timeseries(self, metric: str, start: date, end: date) -> list[Any]:
        body = self._call(http.timeseries(self.store, self.settings, metric, start, end))
        return [(p["day"], p["value"]) for p in body["points"]]

    def ratings(self, product: str) -> dict[str, Any]:
        return self._call(http.ratings(product, self.store))


def story(c: Community) -> None:
    """The story of the metric tests (UTC, SLA 86400 s, evaluated on 2026-12-01):

    D1 = 2026-11-02
      09:00 alice asks Q1;  09:10 bob replies (first response 600 s); 09:20 alice replies
            to herself (not a response); 09:30 carol up-votes bob's reply; 09:40 alice
            accepts bob's reply (peer-solved)
      10:00 carol asks Q2;  12:00 sam replies (7200 s); 12:10 carol accepts sam's reply
      11:00 dave asks Q3 (nobody answers on D1: a miss)
      13:00-13:45 reviews of product P1: alice 4, bob 2, carol 5, dave 1 (dave deletes it 13:50)
      14:00 dave submits idea I1; 14:10 alice and 14:20 bob vote for it
      15:00 stella moves I1 new -> under_review
    D2 = 2026-11-03
      11:00 Q3 escalated; 12:00 sam replies (90000 s, over the SLA) and resolves it
            as answered_by_support (so sam is support: Q2 was not peer-solved)
      14:00 stella moves I1 under_review -> planned (1.0 day after submission)
      15:00 erin asks Q4; 15:30 bob replies (1800 s); 16:00 bob up-votes alice's Q1
    """

    c.post(at(D1, 9), "alice", "question", "Q1")
    r1 = c.post(at(D1, 9, 10), "bob", "reply", "Q1")
    c.post(at(D1, 9, 20), "alice", "reply", "Q1")
    c.vote(at(D1, 9, 30), "carol", "Q1", r1, "reply", "bob", 1)
    c.accept(at(D1, 9, 40), "alice", "Q1", r1, "bob")
    c.post(at(D1, 10), "carol", "question", "Q2")
    c.post(at(D1, 11), "dave", "question", "Q3")
    r2 = c.post(at(D1, 12), "sam", "reply", "Q2")
    c.accept(at(D1, 12, 10), "carol", "Q2", r2, "sam")
    c.post(at(D1, 13), "alice", "review", "RV1", product_id="P1", rating=4)
    c.post(at(D1, 13, 15), "bob", "review", "RV2", product_id="P1", rating=2)
    c.post(at(D1, 13, 30), "carol", "review", "RV3", product_id="P1", rating=5)
    c.post(at(D1, 13, 45), "dave", "review", "RV4", product_id="P1", rating=1)
    c.delete(at(D1, 13, 50), "dave", "RV4", "RV4", "dave", "review")
    c.idea(at(D1, 14), "dave", "I1")
    c.idea_vote(at(D1, 14, 10), "alice", "I1", "dave")
    c.idea_vote(at(D1, 14, 20), "bob", "I1", "dave")
    c.status(at(D1, 15), "stella", "I1", "dave", "new", "under_review")
    c.escalate(at(D2, 11), "Q3", "dave", at(D1, 11))
    c.post(at(D2, 12), "sam", "reply", "Q3")
    c.resolve(at(D2, 12), "Q3", "sam", "answered_by_support")
    c.status(at(D2, 14), "stella", "I1", "dave", "under_review", "planned")
    c.post(at(D2, 15), "erin", "question", "Q4")
    c.post(at(D2, 15, 30), "bob", "reply", "Q4")
    c.vote(at(D2, 16), "bob", "Q1", "Q1", "question", "alice", 1)


@pytest.fixture
def community(monkeypatch: pytest.MonkeyPatch) -> Community:
    monkeypatch.setattr(http, "now", lambda: NOW)
    return Community()
