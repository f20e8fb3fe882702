"""Build and produce forum/ideas events straight to Kafka (what the producers would send)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaProducer

from schemas import Envelope, new_event, topics
from schemas.forum import (
    AnswerAccepted,
    PostCreated,
    PostDeleted,
    PostHidden,
    PostRestored,
    VoteCast,
)

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


class Script:
    """A small, deterministic community story with unique ids per test."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.events: list[Envelope[Any]] = []
        self._t = T0

    def user(self, name: str) -> str:
        return f"{name}-{self.tag}"

    def _at(self) -> datetime:
        self._t += timedelta(seconds=1)
        return self._t

    def question(self, author: str) -> tuple[str, str]:
        thread, post = uuid.uuid4().hex, uuid.uuid4().hex
        self.events.append(
            new_event(
                PostCreated(
                    post_id=post,
                    thread_id=thread,
                    kind="question",
                    author_id=author,
                    title="Q?",
                    body_length=10,
                ),
                subject=thread,
                actor_id=author,
                time=self._at(),
            )
        )
        return thread, post

    def reply(self, thread: str, author: str) -> str:
        post = uuid.uuid4().hex
        self.events.append(
            new_event(
                PostCreated(
                    post_id=post,
                    thread_id=thread,
                    parent_post_id=thread,
                    kind="reply",
                    author_id=author,
                    body_length=20,
                ),
                subject=thread,
                actor_id=author,
                time=self._at(),
            )
        )
        return post

    def vote(
        self,
        thread: str,
        post: str,
        kind: str,
        author: str,
        voter: str,
        value: int,
        previous: int = 0,
    ) -> None:
        self.events.append(
            new_event(
                VoteCast(
                    target_id=post,
                    thread_id=thread,
                    target_kind=kind,
                    target_author_id=author,
                    voter_id=voter,
                    value=value,
                    previous_value=previous,
                ),  # type: ignore[arg-type]
                subject=thread,
                actor_id=voter,
                time=self._at(),
            )
        )

    def accept(self, thread: str, answer: str, answer_author: str, asker: str) -> None:
        self.events.append(
            new_event(
                AnswerAccepted(
                    thread_id=thread,
                    answer_post_id=answer,
                    answer_author_id=answer_author,
                    question_author_id=asker,
                ),
                subject=thread,
                actor_id=asker,
                time=self._at(),
            )
        )

    def delete(self, thread: str, post: str, author: str, kind: str) -> None:
        self.events.append(
            new_event(
                PostDeleted(
                    post_id=post, thread_id=thread, author_id=author, deleted_by=author, kind=kind
                ),  # type: ignore[arg-type]
                subject=thread,
                actor_id=author,
                time=self._at(),
            )
        )

    def hide(self, thread: str, post: str, author: str) -> Envelope[Any]:
        e = new_event(
            PostHidden(post_id=post, thread_id=thread, author_id=author, reason="spam"),
            subject=thread,
            actor_id="moderator",
            time=self._at(),
        )
        self.events.append(e)
        return e

    def restore(self, thread: str, post: str, author: str) -> Envelope[Any]:
        e = new_event(
            PostRestored(post_id=post, thread_id=thread, author_id=author, restored_by="mod"),
            subject=thread,
            actor_id="moderator",
            time=self._at(),
        )
        self.events.append(e)
        return e


async def produce(
    bootstrap: str,
    events: list[Envelope[Any]] | list[tuple[bytes, bytes, list[tuple[str, bytes]]]],
    topic: str = topics.FORUM_EVENTS,
) -> None:
    p = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await p.start()
    try:
        futs = []
        for e in events:
            if isinstance(e, Envelope):
                futs.append(await p.send(topic, e.to_bytes(), key=e.key, headers=e.headers()))
            else:
                key, value, headers = e
                futs.append(await p.send(topic, value, key=key, headers=headers))
        for f in futs:
            await f
    finally:
        await p.stop()
