"""Facts: the events that matter to one user, stored once per (user, event).

A user's reputation is a pure function of their facts (plus which posts were removed), so
the result is the same for any arrival order and any number of redeliveries (SPEC 4,
"order does not matter"; SPEC 6, "exactly-once effect").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from schemas import Envelope
from schemas import forum as f
from schemas import gatherings as g
from schemas import ideas as i
from schemas import media as m


@dataclass(frozen=True, order=True)
class Fact:
    """One event as seen by one user. Sorted by (time, event id): the canonical order."""

    at: datetime
    event_id: str
    user_id: str = field(compare=False)
    kind: str = field(compare=False)
    data: dict[str, Any] = field(compare=False, default_factory=dict)

    @property
    def doc_id(self) -> str:
        return f"{self.user_id}:{self.event_id}"


@dataclass(frozen=True)
class Removal:
    """A post deleted or hidden: from ``at`` on it earns nothing for anyone. With
    ``restored``, the reverse (PostRestored): from ``at`` on it earns again. Whether a post
    counts at a point of the fold is decided by the latest of its removals and restores by
    (time, event id), never by arrival order (SPEC 4). The forum restores only hidden
    posts; a deleted post is never restored."""

    post_id: str
    thread_id: str
    author_id: str
    at: datetime
    event_id: str
    restored: bool = False


def facts_of(env: Envelope[Any]) -> list[Fact]:
    """The facts an event creates, one per affected user (empty if it affects nobody)."""
    d = env.data
    out: list[tuple[str, str, dict[str, Any]]] = []
    if isinstance(d, f.VoteCast | i.IdeaVoteCast | m.MediaVoted):
        # a "helpful" vote on a media item (0 or 1) is an up-vote on a media post (SPEC 4
        # version 2): the same fact, the same latest-vote-stands rule, cap and serial voting
        vote = {
            "target_type": d.target_type,
            "target_id": d.target_id,
            "target_kind": "media" if isinstance(d, m.MediaVoted) else d.target_kind,
            "author_id": d.target_author_id,
            "voter_id": d.voter_id,
            "value": d.value,
            "thread_id": getattr(d, "thread_id", None),
        }
        out.append((d.target_author_id, "vote", vote))
        if d.voter_id != d.target_author_id:
            out.append((d.voter_id, "vote", vote))
    elif isinstance(d, f.AnswerAccepted | f.AnswerUnaccepted):
        accept = {
            "thread_id": d.thread_id,
            "answer_post_id": d.answer_post_id,
            "answer_author_id": d.answer_author_id,
            "question_author_id": d.question_author_id,
            "accepted": isinstance(d, f.AnswerAccepted),
        }
        out.append((d.answer_author_id, "accept", accept))
        if d.question_author_id != d.answer_author_id:
            out.append((d.question_author_id, "accept", accept))
    elif isinstance(d, f.PostCreated):
        out.append(
            (
                d.author_id,
                "post",
                {
                    "post_id": d.post_id,
                    "thread_id": d.thread_id,
                    "kind": d.kind,
                },
            )
        )
    elif isinstance(d, g.MemberCheckedIn):
        # attendee (the member's distinct gatherings) and host (distinct members, other than
        # the host, checked in at one of the host's gatherings): one fact seen by both
        checkin = {"gathering_id": d.gathering_id, "user_id": d.user_id, "host_id": d.host_id}
        out.append((d.user_id, "checkin", checkin))
        if d.host_id != d.user_id:
            out.append((d.host_id, "checkin", checkin))
    elif isinstance(d, i.IdeaSubmitted):
        out.append((d.author_id, "idea", {"idea_id": d.idea_id}))
    elif isinstance(d, i.IdeaStatusChanged):
        out.append((d.author_id, "status", {"idea_id": d.idea_id, "to_status": d.to_status}))
    return [Fact(env.time, env.id, user, kind, data) for user, kind, data in out]


def removal_of(env: Envelope[Any]) -> Removal | None:
    d = env.data
    if isinstance(d, f.PostDeleted | f.PostHidden):
        return Removal(d.post_id, d.thread_id, d.author_id, env.time, env.id)
    if isinstance(d, f.PostRestored):
        return Removal(d.post_id, d.thread_id, d.author_id, env.time, env.id, restored=True)
    # a media item hidden or deleted earns nothing, like a post (its helpful votes); no thread
    if isinstance(d, m.MediaHidden | m.MediaDeleted):
        return Removal(d.media_id, "", d.author_id, env.time, env.id)
    if isinstance(d, m.MediaRestored):
        return Removal(d.media_id, "", d.author_id, env.time, env.id, restored=True)
    return None
