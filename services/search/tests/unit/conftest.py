"""Unit-test helpers: events as the consumer receives them, and small in-memory indexes."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from communitykit.consumer import Received
from schemas import new_event
from schemas.envelope import EventData
from schemas.forum import (
    AnswerAccepted,
    PostCreated,
    PostDeleted,
    PostEdited,
    PostHidden,
    PostRestored,
)
from schemas.ideas import IdeasMerged, IdeaSubmitted
from search.adapters.index import SearchIndex
from search.projection import IndexProjection
from search.service import SearchService


class Feed:
    """Builds events with increasing offsets per (topic, partition 0)."""

    def __init__(self) -> None:
        self._offsets: dict[str, Iterator[int]] = {}
        self._ids = itertools.count(1)

    def rec(self, data: EventData, subject: str, partition: int = 0) -> Received:
        topic = "ideas.events" if data.producer == "ideas" else "forum.events"
        offs = self._offsets.setdefault(f"{topic}/{partition}", itertools.count())
        return Received(new_event(data, subject=subject), topic, partition, next(offs))

    def thread(
        self,
        title: str,
        body: str = "",
        *,
        kind: Any = "question",
        tid: str | None = None,
        tags: list[str] | None = None,
        group_id: str | None = None,
        product_id: str | None = None,
    ) -> tuple[str, Received]:
        tid = tid or f"t{next(self._ids)}"
        data = PostCreated(
            post_id=f"{tid}-p0",
            thread_id=tid,
            kind=kind,
            author_id="alice",
            group_id=group_id,
            title=title,
            tags=tags or [],
            product_id=product_id,
            rating=3 if kind == "review" else None,
            body_length=len(body),
            body=body,
        )
        return tid, self.rec(data, tid)

    def reply(self, tid: str, body: str, pid: str) -> Received:
        data = PostCreated(
            post_id=pid,
            thread_id=tid,
            parent_post_id=f"{tid}-p0",
            kind="reply",
            author_id="bob",
            body_length=len(body),
            body=body,
        )
        return self.rec(data, tid)

    def edit(self, tid: str, pid: str, **new: Any) -> Received:
        data = PostEdited(post_id=pid, thread_id=tid, editor_id="alice", fields=sorted(new), **new)
        return self.rec(data, tid)

    def delete(self, tid: str, pid: str) -> Received:
        data = PostDeleted(
            post_id=pid, thread_id=tid, author_id="alice", deleted_by="alice", kind="question"
        )
        return self.rec(data, tid)

    def hide(self, tid: str, pid: str) -> Received:
        data = PostHidden(post_id=pid, thread_id=tid, author_id="alice", reason="flagged")
        return self.rec(data, tid)

    def restore(self, tid: str, pid: str) -> Received:
        data = PostRestored(post_id=pid, thread_id=tid, author_id="alice", restored_by="mod")
        return self.rec(data, tid)

    def accept(self, tid: str, pid: str) -> Received:
        data = AnswerAccepted(
            thread_id=tid, answer_post_id=pid, answer_author_id="bob", question_author_id="alice"
        )
        return self.rec(data, tid)

    def idea(self, iid: str, title: str, description: str = "") -> Received:
        data = IdeaSubmitted(
            idea_id=iid,
            author_id="carol",
            title=title,
            category="feature-request",
            product_area="thermostat",
            description=description,
        )
        return self.rec(data, iid)

    def merge(self, source: str, target: str) -> Received:
        data = IdeasMerged(
            source_idea_id=source,
            target_idea_id=target,
            moved_votes=1,
            source_author_id="carol",
            target_author_id="dave",
        )
        return self.rec(data, source)


class Env:
    def __init__(self, path: str | None = None) -> None:
        self.feed = Feed()
        self.index = SearchIndex(path, heap_bytes=15_000_000)
        self.projection = IndexProjection(self.index)
        self.service = SearchService(self.index)

    def apply(self, *records: Received) -> int:
        return self.projection.apply_sync(records)

    def ids(self, q: str, **filters: Any) -> list[str]:
        from search.adapters.queries import Filters

        items, _ = self.service.search(q, Filters(**filters), limit=20)
        return [i["id"] for i in items]


@pytest.fixture
def feed() -> Feed:
    return Feed()


@pytest.fixture
def env() -> Env:
    return Env()


EnvFactory = Callable[..., Env]


@pytest.fixture
def make_env() -> EnvFactory:
    return Env
