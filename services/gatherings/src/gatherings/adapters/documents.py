"""Aggregate ⇄ document. Maps of members, voters and entrants are stored as one field per
entry (``members.<key>``), so that the repository's diff ``$set``s only the entries a write
changed, never the whole map."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any, TypeVar

from ..domain.gathering import Gathering, Member
from ..domain.giveaway import Giveaway
from ..domain.question import Question

Doc = dict[str, Any]
V = TypeVar("V")


def _flat(prefix: str, entries: dict[str, V], dump: Callable[[V], Any] = lambda v: v) -> Doc:
    return {f"{prefix}.{k}": dump(v) for k, v in entries.items()}


def gathering_doc(g: Gathering) -> Doc:
    d = asdict(g)
    for name in ("gathering_id", "members", "reminders_sent"):
        d.pop(name)
    d.update(_flat("members", g.members, asdict))
    d.update(_flat("reminders_sent", g.reminders_sent))
    return d


def to_gathering(d: Doc) -> Gathering:
    fields = {k: v for k, v in d.items() if k in Gathering.__dataclass_fields__}
    fields.pop("members", None)
    fields.pop("reminders_sent", None)
    return Gathering(
        gathering_id=d["_id"],
        **fields,
        members={k: Member(**v) for k, v in (d.get("members") or {}).items()},
        reminders_sent=dict(d.get("reminders_sent") or {}),
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
