"""How facts, removals and ledger parts are written into the reputation documents.

Compact on purpose: a day document holds every vote of its (author, UTC day) scope, and
FerretDB rewrites a whole document on every update.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

import orjson

from ..domain.facts import Fact, Removal
from ..domain.fold import Part

_AT = "%Y-%m-%dT%H:%M:%S.%fZ"


def at_key(at: datetime) -> str:
    """A fixed-width UTC timestamp: sorts as text exactly like the instants (µs kept)."""
    # isoformat is several times faster than strftime(_AT) and gives the same text
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def at_of(key: str) -> datetime:
    return datetime.fromisoformat(key)  # the trailing Z is UTC (Python ≥ 3.11)


def pack(row: list[Any]) -> str:
    """One row as stored: JSON text (FerretDB stores no arrays nested in arrays, and ids
    may hold dots, so rows are neither nested arrays nor keys of a sub-document)."""
    return orjson.dumps(row).decode()


def unpack(text: str) -> list[Any]:
    row: list[Any] = orjson.loads(text)
    return row


def packed(rows: dict[str, list[Any]]) -> list[str]:
    """A keyed set of rows as stored: sorted texts of ``[key, *row]``."""
    return sorted(pack([k, *r]) for k, r in rows.items())


def unpacked(texts: Iterable[str]) -> dict[str, list[Any]]:
    return {row[0]: row[1:] for row in map(unpack, texts)}


def day_id(author: str, day: date) -> str:
    return f"{author}|{day.isoformat()}"


# -- votes (in pairs and day documents) -------------------------------------------------------


def vote_row(f: Fact) -> list[Any]:
    d = f.data
    return [
        d["voter_id"],
        d["target_id"],
        d["target_kind"],
        d["target_type"],
        int(d["value"]),
        at_key(f.at),
        d.get("thread_id"),
    ]


def vote_fact(user: str, author: str, event_id: str, row: list[Any]) -> Fact:
    voter, target, kind, ttype, value, at, thread = row
    data = {
        "target_type": ttype,
        "target_id": target,
        "target_kind": kind,
        "author_id": author,
        "voter_id": voter,
        "value": value,
        "thread_id": thread,
    }
    return Fact(at_of(at), event_id, user, "vote", data)


# -- removals and restores ------------------------------------------------------------------

RESTORED = "restored"


def removal_row(r: Removal) -> list[Any]:
    """A removal as stored; a restore carries a fifth element (so removals stored before
    restores existed read back unchanged)."""
    row = [r.post_id, r.thread_id, r.author_id, at_key(r.at)]
    return [*row, RESTORED] if r.restored else row


def removal_of_row(event_id: str, row: list[Any]) -> Removal:
    post, thread, author, at, *rest = row
    return Removal(post, thread, author, at_of(at), event_id, restored=rest == [RESTORED])


# -- profile facts (kept whole) and activity points ---------------------------------------------


def profile_row(f: Fact) -> list[Any]:
    return [f.kind, at_key(f.at), f.data]


def profile_fact(user: str, event_id: str, row: list[Any]) -> Fact:
    kind, at, data = row
    return Fact(at_of(at), event_id, user, kind, data)


def point(f: Fact) -> str:
    """An activity point: sorts by (time, event id)."""
    return f"{at_key(f.at)}|{f.event_id}"


def point_fact(user: str, p: str) -> Fact:
    at, event_id = p.split("|", 1)
    return Fact(at_of(at), event_id, user, "point", {})


# -- where a ledger line came from (SPEC 3: thread_id, post_id, idea_id where they apply) ------


Ref = dict[str, str]


def _ref(thread: Any = None, post: Any = None, idea: Any = None) -> Ref:
    pairs = (("thread_id", thread), ("post_id", post), ("idea_id", idea))
    return {k: str(v) for k, v in pairs if v}


def vote_ref(row: list[Any]) -> Ref:
    """The post (and thread) or idea a stored vote row was cast on."""
    _voter, target, _kind, ttype, _value, _at, thread = row
    return _ref(idea=target) if ttype == "idea" else _ref(thread, target)


def removal_ref(row: list[Any]) -> Ref:
    return _ref(row[1], row[0])


def profile_ref(row: list[Any]) -> Ref:
    """The thread/post/idea of a profile fact (accept, idea status, review, idea vote)."""
    _kind, _at, d = row
    if d.get("target_type") == "idea":
        return _ref(idea=d.get("target_id"))
    return _ref(d.get("thread_id"), d.get("answer_post_id") or d.get("post_id"), d.get("idea_id"))


# -- ledger parts -------------------------------------------------------------------------------


def part_row(p: Part) -> list[Any]:
    return [p.delta, p.reason, int(p.primary), int(p.voter_side), int(p.would_cost), at_key(p.at)]


def versioned(n: int, row: list[Any] | None) -> str:
    """A ledger part as stored: ``$max`` on this text keeps the part of the newest version
    of its scope (a stale writer can never overwrite a fresher part); no row = removed."""
    if row is None:
        return f"{n:012d}|"
    delta, reason, primary, voter_side, would_cost, _at = row
    return f"{n:012d}|{delta}|{reason}|{primary}{voter_side}{would_cost}"


def unversioned(text: str) -> tuple[int, str, bool, bool, bool] | None:
    _n, _, rest = text.partition("|")
    if not rest:
        return None
    delta, reason, flags = rest.split("|")
    return int(delta), reason, flags[0] == "1", flags[1] == "1", flags[2] == "1"
