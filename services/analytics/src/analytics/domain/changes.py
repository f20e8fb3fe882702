"""Changes: what one event does to the analytics projections, as mergeable update operators.

An event becomes a few :class:`Change` s, each aimed at one document (a UTC day, a thread,
an idea, a review, a user) and tagged with where the event came from (``seq`` = topic code
+ partition, and the offset). Changes to the same document fold in memory into one update
(:func:`fold`): ``$inc`` sums, ``$min``/``$max`` keep the extreme, ``$addToSet`` unions,
``$set`` keeps the last by offset (only ever set from one partition per document). The
projection guards each document by the highest offset it applied per partition, so a
redelivered event is a no-op inside the very same single-document update.

Pure: no MongoDB, no Kafka.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from schemas import topics

#: short codes for the source topics (document keys must not contain ".")
TOPIC_CODE = {
    topics.FORUM_EVENTS: "f",
    topics.IDEAS_EVENTS: "i",
    topics.REPUTATION_EVENTS: "r",
    topics.GATHERINGS_EVENTS: "g",
    topics.NOTIFICATIONS_EVENTS: "n",
}

DAYS, DAY_USERS, THREADS, IDEAS, REVIEWS, USERS, STAFF = (
    "days",
    "day_users",
    "threads",
    "ideas",
    "reviews",
    "users",
    "staff",
)
#: one document per gathering (guarded: counters) and per attendance (idempotent)
GATHERINGS, ATTENDEES = "gatherings", "attendees"
#: one document per source partition: the last offset applied there (analytics.positions);
#: transport state, not a metric
POSITIONS = "positions"
#: one small document per event id applied (analytics.positions): a copy of an event
#: published again, in any partition, is dropped; transport state, not a metric
CLAIMS = "claims"
#: documents whose update is not idempotent by itself ($inc, order-dependent $set): they
#: carry the per-partition offset guard ``seq``
GUARDED = frozenset({DAYS, DAY_USERS, THREADS, GATHERINGS})


def day_of(t: datetime) -> str:
    """The UTC day of an instant, ``YYYY-MM-DD`` (sorts like the instant)."""
    return t.astimezone(UTC).date().isoformat()


def seq_key(topic: str, partition: int) -> str:
    return f"{TOPIC_CODE.get(topic, 'x')}{partition}"


@dataclass(slots=True)
class Ops:
    """Update operators for one document (dotted paths)."""

    inc: dict[str, int] = field(default_factory=dict)
    mn: dict[str, Any] = field(default_factory=dict)
    mx: dict[str, Any] = field(default_factory=dict)
    st: dict[str, Any] = field(default_factory=dict)
    add: dict[str, list[Any]] = field(default_factory=dict)

    def merge(self, o: Ops) -> None:
        # (the empty checks skip most of the work: an event's change sets one or two kinds)
        if o.inc:
            inc = self.inc
            for k, v in o.inc.items():
                inc[k] = inc.get(k, 0) + v
        if o.mn:
            for k, v in o.mn.items():
                self.mn[k] = v if k not in self.mn else min(self.mn[k], v)
        if o.mx:
            for k, v in o.mx.items():
                self.mx[k] = v if k not in self.mx else max(self.mx[k], v)
        if o.st:
            self.st.update(o.st)  # the caller merges in offset order
        if o.add:
            for k, vs in o.add.items():
                cur = self.add.setdefault(k, [])
                for v in vs:
                    if v not in cur:
                        cur.append(v)

    def copy(self) -> Ops:
        """A copy that merging into leaves this one as it was."""
        return Ops(
            dict(self.inc),
            dict(self.mn),
            dict(self.mx),
            dict(self.st),
            {k: list(v) for k, v in self.add.items()} if self.add else {},
        )

    def against(self, doc: dict[str, Any]) -> Ops:
        """Only what would change ``doc`` (for idempotent documents: a no-op is not
        written at all)."""
        out = Ops(inc=dict(self.inc))
        for k, v in self.mn.items():
            cur = _get(doc, k)
            if cur is _MISSING or v < cur:
                out.mn[k] = v
        for k, v in self.mx.items():
            cur = _get(doc, k)
            if cur is _MISSING or v > cur:
                out.mx[k] = v
        for k, v in self.st.items():
            if _get(doc, k) != v:
                out.st[k] = v
        for k, vs in self.add.items():
            cur = _get(doc, k)
            new = [v for v in vs if cur is _MISSING or v not in cur]
            if new:
                out.add[k] = new
        return out

    def empty(self) -> bool:
        return not (self.inc or self.mn or self.mx or self.st or self.add)

    def update(self) -> dict[str, Any]:
        """The MongoDB update document."""
        u: dict[str, Any] = {}
        if self.inc:
            u["$inc"] = dict(self.inc)
        if self.mn:
            u["$min"] = dict(self.mn)
        if self.mx:
            u["$max"] = dict(self.mx)
        if self.st:
            u["$set"] = dict(self.st)
        if self.add:
            u["$addToSet"] = {k: {"$each": list(v)} for k, v in self.add.items()}
        return u

    def materialize(self) -> dict[str, Any]:
        """The document these operators make out of nothing (for a plain insert)."""
        doc: dict[str, Any] = {}
        for src in (self.inc, self.mn, self.mx, self.st):
            for path, v in src.items():
                _put(doc, path, v)
        for path, vs in self.add.items():
            _put(doc, path, list(vs))
        return doc


_MISSING: Any = object()


def _get(doc: dict[str, Any], path: str) -> Any:
    cur: Any = doc
    for p in path.split("."):
        if not isinstance(cur, dict) or p not in cur:
            return _MISSING
        cur = cur[p]
    return cur


def _put(doc: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    for p in parents:
        doc = doc.setdefault(p, {})
    doc[leaf] = value


@dataclass(slots=True)
class Change:
    coll: str
    doc_id: str
    seq: str
    offset: int
    ops: Ops


@dataclass(slots=True)
class Folded:
    """All changes of a batch to one document, folded."""

    coll: str
    doc_id: str
    ops: Ops
    #: per source partition: (lowest, highest) offset folded in
    offsets: dict[str, tuple[int, int]]


def _order(c: Change) -> tuple[str, int]:
    return (c.seq, c.offset)


def fold(changes: Iterable[Change], applied: dict[tuple[str, str], dict[str, int]]) -> list[Folded]:
    """Fold changes per document, leaving out those at or below the offset the stored
    document already applied (``applied[(coll, id)][seq]``: a redelivered event).

    This loop runs for every change of every event (several per event), so it is written
    for speed: the changes are never mutated (a retry folds them again), the first change
    of a document is copied rather than merged into an empty one, and offsets arrive in
    ascending order per partition (sorted here), so a partition's range only grows up."""
    out: dict[tuple[str, str], Folded] = {}
    for c in sorted(changes, key=_order):
        ops = c.ops
        if not (ops.inc or ops.mn or ops.mx or ops.st or ops.add):
            continue  # touches nothing: must not move the guard either (the guard
            # would then depend on how the records were batched)
        key = (c.coll, c.doc_id)
        if applied and c.coll in GUARDED and c.offset <= applied.get(key, {}).get(c.seq, -1):
            continue
        f = out.get(key)
        if f is None:
            out[key] = Folded(c.coll, c.doc_id, ops.copy(), {c.seq: (c.offset, c.offset)})
            continue
        f.ops.merge(ops)
        span = f.offsets.get(c.seq)
        f.offsets[c.seq] = (c.offset, c.offset) if span is None else (span[0], c.offset)
    return [f for f in out.values() if not f.ops.empty()]
