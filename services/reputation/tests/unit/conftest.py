"""A tiny community for reputation tests: real event models → envelopes → facts → fold.

Every action publishes one envelope built with ``schemas.new_event`` from the real event
models, turns it into facts with ``facts_of`` / ``removal_of`` and stores the facts keyed by
their ``doc_id``, exactly like the reputation store does. ``state(user)`` folds the facts of
one user; when a test ends, its events also go through the production projection, shuffled
and partly redelivered, which must give every member exactly that fold
(:func:`projection_equals_fold`). Event ids are sequential (``evt-00001``…) and the clock
moves one second per event unless a test passes ``at=`` explicitly, so every test reads
like a short story.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import schemas
from communitykit.consumer import Received
from communitykit.memory import MemoryDatabase
from reputation.adapters.mongo import ReputationDb
from reputation.domain.facts import Fact, Removal, facts_of, removal_of
from reputation.domain.fold import UserState, fold
from reputation.projections.users import UsersProjection
from reputation.projections.views import ledger_lines
from schemas import forum, gatherings, ideas, media
from schemas.streams import disorder

#: a Monday morning, UTC
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def day(n: int, hour: int = 9, minute: int = 0) -> datetime:
    """``n`` UTC days after T0's day, at hour:minute UTC."""
    return T0.replace(hour=hour, minute=minute) + timedelta(days=n)


class Community:
    def __init__(self) -> None:
        self.store: dict[str, Fact] = {}  # doc_id → fact, like the reputation store
        self.removals: list[Removal] = []
        self.envelopes: list[schemas.Envelope[Any]] = []
        self.clock = T0
        self._seq = 0
        self._posts: dict[str, tuple[str, str, str]] = {}  # post → (thread, kind, author)
        self._questions: dict[str, str] = {}  # thread → question author
        self._ideas: dict[str, tuple[str, str]] = {}  # idea → (author, status)
        self._votes: dict[tuple[str, str], int] = {}  # (voter, target) → value
        self._media: dict[str, str] = {}  # media item → author

    day = staticmethod(day)

    # -- plumbing ----------------------------------------------------------------------------

    def publish(
        self,
        data: schemas.EventData,
        *,
        subject: str,
        actor: str,
        at: datetime | None = None,
        event_id: str | None = None,
    ) -> schemas.Envelope[Any]:
        self._seq += 1
        if at is None:
            self.clock += timedelta(seconds=1)
            at = self.clock
        env = schemas.new_event(
            data,
            subject=subject,
            actor_id=actor,
            time=at,
            event_id=event_id or f"evt-{self._seq:05d}",
        )
        self.envelopes.append(env)
        for fact in facts_of(env):
            self.store[fact.doc_id] = fact
        removal = removal_of(env)
        if removal is not None:
            self.removals.append(removal)
        return env

    def replay(self, envelopes: list[schemas.Envelope[Any]]) -> None:
        """Take in events that happened elsewhere (a generated stream, ``schemas.streams``)
        exactly as :meth:`publish` takes in its own."""
        for env in envelopes:
            self.envelopes.append(env)
            for fact in facts_of(env):
                self.store[fact.doc_id] = fact
            if (removal := removal_of(env)) is not None:
                self.removals.append(removal)

    def facts(self, user: str | None = None) -> list[Fact]:
        return [f for f in self.store.values() if user is None or f.user_id == user]

    def state(self, user: str) -> UserState:
        return fold(user, self.facts(user), list(self.removals))

    def reputation(self, user: str) -> int:
        return self.state(user).reputation

    # -- forum -------------------------------------------------------------------------------

    def post(self, author: str, kind: str = "question", *, at: datetime | None = None) -> str:
        """An opening post of a new thread; returns its post id."""
        n = len(self._posts) + 1
        thread, post = f"t{n}", f"p{n}"
        self._posts[post] = (thread, kind, author)
        self._questions[thread] = author
        self.publish(
            forum.PostCreated(
                post_id=post,
                thread_id=thread,
                kind=kind,
                author_id=author,
                title=f"{kind} {n}",
                product_id="prod-1" if kind == "review" else None,
                rating=4 if kind == "review" else None,
                body_length=100,
            ),
            subject=thread,
            actor=author,
            at=at,
        )
        return post

    def reply(self, author: str, to: str, *, at: datetime | None = None) -> str:
        """A reply (answer) in the thread of post ``to``; returns its post id."""
        thread = self._posts[to][0]
        post = f"p{len(self._posts) + 1}"
        self._posts[post] = (thread, "reply", author)
        self.publish(
            forum.PostCreated(
                post_id=post,
                thread_id=thread,
                parent_post_id=to,
                kind="reply",
                author_id=author,
                body_length=50,
            ),
            subject=thread,
            actor=author,
            at=at,
        )
        return post

    def author_of(self, post_or_idea: str) -> str:
        if post_or_idea in self._posts:
            return self._posts[post_or_idea][2]
        return self._ideas[post_or_idea][0]

    def vote(
        self,
        voter: str,
        post: str,
        value: int = 1,
        *,
        at: datetime | None = None,
        event_id: str | None = None,
    ) -> schemas.Envelope[Any]:
        thread, kind, author = self._posts[post]
        previous = self._votes.get((voter, post), 0)
        self._votes[(voter, post)] = value
        return self.publish(
            forum.VoteCast(
                target_id=post,
                thread_id=thread,
                target_kind=kind,
                target_author_id=author,
                voter_id=voter,
                value=value,
                previous_value=previous,
            ),
            subject=thread,
            actor=voter,
            at=at,
            event_id=event_id,
        )

    def _accept_data(self, answer: str) -> dict[str, str]:
        thread, _kind, author = self._posts[answer]
        return {
            "thread_id": thread,
            "answer_post_id": answer,
            "answer_author_id": author,
            "question_author_id": self._questions[thread],
        }

    def accept(
        self, answer: str, *, at: datetime | None = None, event_id: str | None = None
    ) -> schemas.Envelope[Any]:
        data = self._accept_data(answer)
        actor = data["question_author_id"]
        return self.publish(
            forum.AnswerAccepted(**data),
            subject=data["thread_id"],
            actor=actor,
            at=at,
            event_id=event_id,
        )

    def unaccept(
        self, answer: str, *, at: datetime | None = None, event_id: str | None = None
    ) -> schemas.Envelope[Any]:
        data = self._accept_data(answer)
        actor = data["question_author_id"]
        return self.publish(
            forum.AnswerUnaccepted(**data),
            subject=data["thread_id"],
            actor=actor,
            at=at,
            event_id=event_id,
        )

    def delete(self, post: str, *, at: datetime | None = None) -> schemas.Envelope[Any]:
        thread, kind, author = self._posts[post]
        return self.publish(
            forum.PostDeleted(
                post_id=post, thread_id=thread, author_id=author, deleted_by=author, kind=kind
            ),
            subject=thread,
            actor=author,
            at=at,
        )

    def hide(self, post: str, *, at: datetime | None = None) -> schemas.Envelope[Any]:
        thread, _kind, author = self._posts[post]
        return self.publish(
            forum.PostHidden(post_id=post, thread_id=thread, author_id=author, reason="spam"),
            subject=thread,
            actor="moderator",
            at=at,
        )

    def restore(self, post: str, *, at: datetime | None = None) -> schemas.Envelope[Any]:
        thread, _kind, author = self._posts[post]
        return self.publish(
            forum.PostRestored(
                post_id=post, thread_id=thread, author_id=author, restored_by="moderator"
            ),
            subject=thread,
            actor="moderator",
            at=at,
        )

    # -- ideas -------------------------------------------------------------------------------

    def idea(self, author: str, *, at: datetime | None = None) -> str:
        idea = f"i{len(self._ideas) + 1}"
        self._ideas[idea] = (author, "new")
        self.publish(
            ideas.IdeaSubmitted(
                idea_id=idea,
                author_id=author,
                title=f"idea {idea}",
                category="ux",
                product_area="app",
            ),
            subject=idea,
            actor=author,
            at=at,
        )
        return idea

    def idea_vote(
        self, voter: str, idea: str, value: int = 1, *, at: datetime | None = None
    ) -> schemas.Envelope[Any]:
        author = self._ideas[idea][0]
        previous = self._votes.get((voter, idea), 0)
        self._votes[(voter, idea)] = value
        return self.publish(
            ideas.IdeaVoteCast(
                target_id=idea,
                target_author_id=author,
                voter_id=voter,
                value=value,
                previous_value=previous,
            ),
            subject=idea,
            actor=voter,
            at=at,
        )

    def move_idea(
        self, idea: str, to_status: str, *, at: datetime | None = None
    ) -> schemas.Envelope[Any]:
        author, from_status = self._ideas[idea]
        self._ideas[idea] = (author, to_status)
        return self.publish(
            ideas.IdeaStatusChanged(
                idea_id=idea,
                author_id=author,
                from_status=from_status,
                to_status=to_status,
                changed_by="staff-1",
            ),
            subject=idea,
            actor="staff-1",
            at=at,
        )

    # -- gatherings and media (SPEC 4 version 2) ----------------------------------------------

    def checkin(
        self, member: str, gathering: str, host: str, *, at: datetime | None = None
    ) -> schemas.Envelope[Any]:
        return self.publish(
            gatherings.MemberCheckedIn(
                gathering_id=gathering, user_id=member, host_id=host, was_going=True
            ),
            subject=gathering,
            actor=member,
            at=at,
        )

    def media_item(self, author: str) -> str:
        """A media item of a gallery (its upload events play no part in reputation)."""
        item = f"m{len(self._media) + 1}"
        self._media[item] = author
        return item

    def helpful(
        self, voter: str, item: str, value: int = 1, *, at: datetime | None = None
    ) -> schemas.Envelope[Any]:
        """A "helpful" vote on a media item (1) or its withdrawal (0)."""
        previous = self._votes.get((voter, item), 0)
        self._votes[(voter, item)] = value
        return self.publish(
            media.MediaVoted(
                target_id=item,
                gallery_id="g1",
                target_author_id=self._media[item],
                voter_id=voter,
                value=value,  # type: ignore[arg-type]
                previous_value=previous,  # type: ignore[arg-type]
            ),
            subject=item,
            actor=voter,
            at=at,
        )

    def hide_media(self, item: str, *, at: datetime | None = None) -> schemas.Envelope[Any]:
        return self.publish(
            media.MediaHidden(media_id=item, author_id=self._media[item], reason="spam"),
            subject=item,
            actor="moderator",
            at=at,
        )

    def restore_media(self, item: str, *, at: datetime | None = None) -> schemas.Envelope[Any]:
        return self.publish(
            media.MediaRestored(
                media_id=item, author_id=self._media[item], restored_by="moderator"
            ),
            subject=item,
            actor="moderator",
            at=at,
        )


def projection_equals_fold(community: Community, seed: int = 0) -> None:
    """Every member's reputation, ledger lines and badges on the production projection (the
    one in-memory store, events shuffled, some delivered twice, random batches) equal the
    whole fold of their facts: each rule test is also a test of the projection."""
    if not community.envelopes:
        return
    wire = [schemas.parse(e.to_bytes()) for e in community.envelopes]
    rng = random.Random(seed)
    db = ReputationDb(MemoryDatabase())  # type: ignore[arg-type]
    projection = UsersProjection(db)

    async def run() -> None:
        stream, i = disorder(wire, rng, duplicates=0.3), 0
        while i < len(stream):
            size = rng.randint(1, 25)
            chunk = [Received(e, "t", 0, n) for n, e in enumerate(stream[i : i + size])]
            await projection.apply(chunk)
            i += size

    asyncio.run(run())
    facts: dict[str, Fact] = {}
    removals: dict[str, Removal] = {}
    for e in wire:
        facts.update({f.doc_id: f for f in facts_of(e)})
        if (r := removal_of(e)) is not None:
            removals[r.event_id] = r
    for user in sorted({f.user_id for f in facts.values()}):
        st = fold(user, [f for f in facts.values() if f.user_id == user], list(removals.values()))
        want = (st.reputation, [(x.delta, x.reason, x.source_event_id) for x in st.entries])
        doc = asyncio.run(db.users.find_one({"_id": user})) or {}
        lines = asyncio.run(ledger_lines(db, user))
        got = (
            doc.get("reputation", 1),
            [(x["delta"], x["reason"], x["source_event_id"]) for x in lines],
        )
        assert got == want, user
        assert doc.get("badge_events", {}) == st.badges, user


@pytest.fixture
def community() -> Iterator[Community]:
    c = Community()
    yield c
    projection_equals_fold(c)
