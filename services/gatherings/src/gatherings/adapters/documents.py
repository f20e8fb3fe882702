"""Aggregate ⇄ document. Maps (a gathering's seats per occurrence and pending member changes,
voters, entrants) are stored as one field per entry (``pending.<key>``), so that the
repository's diff ``$set``s/``$unset``s only the entries a write changed, never the whole map,
and the projection can ``$unset`` a pending entry without touching anything else."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any, TypeVar

from ..domain.gathering import Gathering, Member, Seats
from ..domain.giveaway import Giveaway
from ..domain.question import Question

Doc = dict[str, Any]
V = TypeVar("V")


def _flat(prefix: str, entries: dict[str, V], dump: Callable[[V], Any] = lambda v: v) -> Doc:
    return {f"{prefix}.{k}": dump(v) for k, v in entries.items()}


#: the gathering's map fields (stored entry by entry) and its never-stored ones
_GATHERING_MAPS = ("seats", "pending", "reminders_sent")
_TRANSIENT = ("records", "heads")


def gathering_doc(g: Gathering) -> Doc:
    d = asdict(g)
    for name in ("gathering_id", *_GATHERING_MAPS, *_TRANSIENT):
        d.pop(name)
    d.update(_flat("seats", g.seats, asdict))
    d.update(_flat("pending", g.pending, asdict))
    d.update(_flat("reminders_sent", g.reminders_sent))
    return d


def to_gathering(d: Doc) -> Gathering:
    fields = {k: v for k, v in d.items() if k in Gathering.__dataclass_fields__}
    for name in (*_GATHERING_MAPS, *_TRANSIENT):
        fields.pop(name, None)
    return Gathering(
        gathering_id=d["_id"],
        **fields,
        seats={k: Seats(**v) for k, v in (d.get("seats") or {}).items()},
        pending={k: Member(**v) for k, v in (d.get("pending") or {}).items()},
        reminders_sent=dict(d.get("reminders_sent") or {}),
    )


def to_member(d: Doc) -> Member:
    """A member's RSVP record (collection ``rsvps``) as the aggregate reads it."""
    return Member(
        user_id=d["user_id"],
        occ=d["occ"],
        status=d.get("status", "none"),
        ticket=int(d.get("ticket") or 0),
        sequence=int(d.get("sequence") or 0),
        checked_in_at=d.get("checked_in_at"),
    )


def giveaway_doc(g: Giveaway) -> Doc:
    d = asdict(g)
    d.pop("giveaway_id")
    d.pop("entrants")
    d.update(_flat("entrants", g.entrants))
    return d


def to_giveaway(d: Doc) -> Giveaway:
    fields = {k: v for k, v in d.items() if k in Giveaway.__dataclass_fields__}
    fields.pop("entrants", None)
    return Giveaway(giveaway_id=d["_id"], **fields, entrants=dict(d.get("entrants") or {}))


def question_doc(q: Question) -> Doc:
    d = asdict(q)
    d.pop("question_id")
    d.pop("voters")
    d.update(_flat("voters", q.voters))
    return d


def to_question(d: Doc) -> Question:
    fields = {k: v for k, v in d.items() if k in Question.__dataclass_fields__}
    fields.pop("voters", None)
    return Question(question_id=d["_id"], **fields, voters=dict(d.get("voters") or {}))
