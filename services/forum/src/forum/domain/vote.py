"""The ``Vote`` aggregate: one member's standing vote on one post. No I/O here.

One document per (post, voter): a vote is ONE guarded upsert of it with its ``VoteCast`` in
its outbox (communitykit.repository ``create=``). ``previous_value`` comes from this document,
so the deltas (``value - previous_value``) of one voter's successive votes sum to their
standing vote whatever order other voters' events interleave in; the post's score is the
sum of those deltas, folded by the thread projection (projections/threads.py).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from schemas import Envelope, new_event
from schemas.forum import VoteCast

Event = Envelope[Any]


#: how many of its last changes a vote document keeps (a few hundred bytes)
HISTORY = 8


def vote_id(post_id: str, voter_id: str) -> str:
    return f"{post_id}:{voter_id}"


@dataclass
class Vote:
    post_id: str
    thread_id: str
    voter_id: str
    value: int = 0
    updated_at: datetime | None = None
    #: this voter's last changes, oldest first: {t: event tag, p: previous, v: value, at}, so
    #: that PUT /posts/{id}/vote answers the score as this voter sees it (handlers/votes.py)
    history: list[dict[str, Any]] = field(default_factory=list)

    @staticmethod
    def from_doc(d: dict[str, Any]) -> Vote:
        return Vote(
            post_id=d["post_id"],
            thread_id=d["thread_id"],
            voter_id=d["voter_id"],
            value=int(d.get("value", 0)),
            updated_at=d.get("updated_at"),
            history=list(d.get("history") or []),
        )

    def to_doc(self) -> dict[str, Any]:
        return {
            "post_id": self.post_id,
            "thread_id": self.thread_id,
            "voter_id": self.voter_id,
            "value": self.value,
            "updated_at": self.updated_at,
            "history": list(self.history),
        }

    def cast(
        self, value: int, *, target_kind: str, target_author_id: str, at: datetime
    ) -> list[Event]:
        """The standing vote becomes ``value``: VoteCast {value, previous_value}; the same
        value again changes nothing and publishes nothing (PUT is idempotent)."""
        previous = self.value
        if previous == value:
            return []
        event = new_event(
            VoteCast(
                target_id=self.post_id,
                thread_id=self.thread_id,
                target_kind=target_kind,  # type: ignore[arg-type]
                target_author_id=target_author_id,
                voter_id=self.voter_id,
                value=value,  # type: ignore[arg-type]
                previous_value=previous,  # type: ignore[arg-type]
            ),
            subject=self.thread_id,
            actor_id=self.voter_id,
            time=at,
        )
        self.value, self.updated_at = value, at
        change = {"t": event_tag(event.id), "p": previous, "v": value, "at": at}
        self.history = [*self.history, change][-HISTORY:]
        return [event]

    def projected_value(self, applied: Collection[str], settled_before: datetime) -> int:
        """This voter's value as the projection has counted it: the value after the newest
        of its changes that the projection applied (its tag among ``applied``, or older than
        ``settled_before``: the projection runs a batch behind, not minutes), else the value
        before the oldest change kept (none of those applied yet).

        The projection applies one voter's changes in order (one document's outbox, one
        partition), and their deltas telescope: its contribution to the score is exactly
        that value."""
        for change in reversed(self.history):
            if change["t"] in applied or change["at"] < settled_before:
                return int(change["v"])
        return int(self.history[0]["p"]) if self.history else self.value


def event_tag(event_id: str) -> str:
    """A short form of an event id (64 bits of a uuid4): the projection keeps the tags of the
    last votes it applied per post, and a voter's request looks its own up among them."""
    return event_id.replace("-", "")[:16]
