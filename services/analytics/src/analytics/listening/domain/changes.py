"""Listening's documents and the mergeable update operators that change them. Pure.

Collections (database ``analytics``, all prefixed ``listening_``):

* ``listening_items/<post or idea id>``: the item's state (domain.items): kind, day, hour,
  thread, author, product, group, tags, ``scopes`` (``all``, ``g:<group>``,
  ``p:<product>``, ``t:<tag>``), its text and the VADER scores and terms ``t`` (display
  forms ``w``) of it, ``live`` (counts: neither deleted nor hidden), ``seq`` (per partition,
  the offset of the last event applied to it); its identity (kind ... tags), title, body and
  hidden flag are each last writer by event time then id (a second creation of the same id
  with a later time replaces the identity). The items are also the window side of
  trending: the live items of a range of hours, read through indexes on ``hour`` (after
  ``group`` or ``product`` for a group's or a product's scope);
* ``listening_threads/<thread>``: product, group, tags of a thread (replies inherit them),
  ``at`` (the order key of the event that set it: the last writer by event time then id
  wins);
* ``listening_sentiment/<dim>|<day>|<key>`` (dim ``all`` key ``*``, ``product``, ``tag``,
  ``group``): items ``n``, compound sum ``c`` (ten-thousandths), ``neg``/``neu``/``pos``
  counts, questions ``q`` (a few fields, whatever the day's volume);
* ``listening_days/<scope>|<day>``: the day's items ``n``; ``<scope>|<day>|<block>``: the
  bins ``c.<bin>`` of block ``bin // 128`` of the count-min sketch of the day's terms
  (domain.sketch): the baseline side, bounded whatever the volume, in 64 documents of at
  most 128 counters (an update's cost on the store grows with the document);
* ``listening_searches/<day>|<query hash>``: query ``q``, searches ``n``, with no result
  ``zero``, questions asked with that title ``asked``;
* ``listening_alerts/<alert id>``: one per spike, with its outbox entry;
* ``listening_positions/<topic code><partition>``: consumed position (transport state).

Counters are guarded by ``seq.<partition>`` (the highest offset applied, raised in the same
update whose filter requires it below the batch's first offset): the consumed position is
recorded atomically with the state, as in the metric projections.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from schemas import topics

ITEMS = "listening_items"
THREADS = "listening_threads"
SENTIMENT = "listening_sentiment"
DAYS = "listening_days"
SEARCHES = "listening_searches"
ALERTS = "listening_alerts"
POSITIONS = "listening_positions"
#: one small document per event id applied (analytics.positions; transport state)
CLAIMS = "listening_claims"
#: what ``make rebuild`` compares (positions are transport state)
#: sketch bins per block document (``listening_days/<scope>|<day>|<block>``): the cost of an
#: update on the store grows faster than the document, so the day's sketch is cut in small
#: documents of a bounded size, whatever the day's volume
BLOCK = 128
COLLECTIONS = (ITEMS, THREADS, SENTIMENT, DAYS, SEARCHES, ALERTS)
#: counter documents: not idempotent by themselves, so they carry the offset guard
GUARDED = frozenset({SENTIMENT, DAYS, SEARCHES})
#: whole documents set by one event (threads; items merge their events: domain.items):
#: the last writer by event time then event id (their ``at``, :func:`order_key`) wins,
#: whatever order the events come in; tried as a plain insert (several times cheaper than an
#: upsert on the store), an existing one updated only if its ``at`` is older
INSERTED = frozenset({THREADS})
#: short codes for the source topics (field names must not contain ".")
TOPIC_CODE = {topics.FORUM_EVENTS: "f", topics.IDEAS_EVENTS: "i", topics.SEARCH_EVENTS: "s"}

_SAFE = re.compile(r"[A-Za-z0-9_\-]+")


def fkey(value: str) -> str:
    """``value`` as a field name: itself when plainly safe, else ``~`` + base64url (no ``.``,
    no ``$``: FerretDB and MongoDB field-name rules)."""
    if _SAFE.fullmatch(value):
        return value
    return "~" + base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def unkey(name: str) -> str:
    if not name.startswith("~"):
        return name
    raw = name[1:]
    return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()


def day_of(t: datetime) -> str:
    return t.astimezone(UTC).date().isoformat()


def hour_of(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H")


def order_key(time: datetime, event_id: str) -> str:
    """The order of the events that set a whole document: event time (UTC, microseconds,
    sorts as text), then event id."""
    return f"{time.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S.%f')}|{event_id}"


def seq_key(topic: str, partition: int) -> str:
    return f"{TOPIC_CODE.get(topic, 'x')}{partition}"


@dataclass(slots=True)
class Ops:
    """Update operators of one document: ``$inc`` (summed), ``$set`` of constants (the same
    value whatever the order), ``$min`` (smallest)."""

    inc: dict[str, int] = field(default_factory=dict)
    st: dict[str, Any] = field(default_factory=dict)
    mn: dict[str, Any] = field(default_factory=dict)

    def merge(self, o: Ops) -> None:
        for k, v in o.inc.items():
            self.inc[k] = self.inc.get(k, 0) + v
        self.st.update(o.st)
        for k, v in o.mn.items():
            self.mn[k] = v if k not in self.mn else min(self.mn[k], v)

    def empty(self) -> bool:
        return not (self.inc or self.st or self.mn)

    def update(self) -> dict[str, Any]:
        u: dict[str, Any] = {}
        if self.inc:
            u["$inc"] = dict(self.inc)
        if self.st:
            u["$set"] = dict(self.st)
        if self.mn:
            u["$min"] = dict(self.mn)
        return u


@dataclass(slots=True)
class Change:
    coll: str
    doc_id: str
    seq: str
    offset: int
    ops: Ops


@dataclass(slots=True)
class Folded:
    coll: str
    doc_id: str
    ops: Ops
    #: per source partition: (lowest, highest) offset folded in
    offsets: dict[str, tuple[int, int]]


def targets(c: Change) -> Iterator[tuple[str, str]]:
    """The documents ``c`` changes: itself, and for a day of the sketch (``<scope>|<day>``
    with bins ``c.<bin>``) the block documents its bins fall in."""
    yield c.coll, c.doc_id
    if c.coll == DAYS:
        for k in c.ops.inc:
            if k.startswith("c."):
                yield DAYS, f"{c.doc_id}|{block_of(k)}"


#: ``c.<bin>`` → the block it falls in (bounded: ``WIDTH * DEPTH`` keys)
_BLOCK_OF: dict[str, str] = {}


def block_of(key: str) -> str:
    """The block (``<bin // BLOCK>``, two digits) of the sketch counter ``c.<bin>``."""
    block = _BLOCK_OF.get(key)
    if block is None:
        block = _BLOCK_OF[key] = f"{int(key[2:]) // BLOCK:02d}"
    return block


def fold(
    changes: Iterable[Change],
    applied: dict[tuple[str, str], dict[str, int]],
    only: set[tuple[str, str]] | None = None,
) -> list[Folded]:
    """All changes to one document become one update; a guarded document's changes at or
    below the offset it applied already (``applied[(coll, id)][seq]``) are left out; with
    ``only``, the other documents are left out.

    A change of a sketch day (``<scope>|<day>``) carries the day's bins as ``c.<bin>``: each
    goes to its block document (``<scope>|<day>|<block>``), which is folded as if the change
    had been one change of its own per block (its offsets, its guard), without making one."""
    out: dict[tuple[str, str], Folded] = {}

    def folded(key: tuple[str, str], c: Change) -> Folded | None:
        if only is not None and key not in only:
            return None
        if applied and key[0] in GUARDED and c.offset <= applied.get(key, {}).get(c.seq, -1):
            return None
        f = out.get(key)
        if f is None:
            f = out[key] = Folded(key[0], key[1], Ops(), {c.seq: (c.offset, c.offset)})
            return f
        r = f.offsets.get(c.seq)
        # in (seq, offset) order: the first change of a partition has its lowest offset
        f.offsets[c.seq] = (c.offset, c.offset) if r is None else (r[0], max(r[1], c.offset))
        return f

    for c in sorted(changes, key=lambda c: (c.seq, c.offset)):
        if c.ops.empty():
            continue
        if c.coll == DAYS and any(k.startswith("c.") for k in c.ops.inc):
            bins: dict[str, dict[str, int]] = {}
            own = Ops(st=c.ops.st, mn=c.ops.mn)
            for k, v in c.ops.inc.items():
                if k.startswith("c."):
                    block = block_of(k)
                    inc = bins.get(block)
                    if inc is None:
                        inc = bins[block] = {}
                    inc[k] = v
                else:
                    own.inc[k] = v
            for block, inc in bins.items():
                f = folded((DAYS, f"{c.doc_id}|{block}"), c)
                if f is not None:
                    acc = f.ops.inc
                    for k, v in inc.items():
                        acc[k] = acc.get(k, 0) + v
            if not own.inc or (f := folded((c.coll, c.doc_id), c)) is None:
                continue  # (an edit that moved bins only leaves the day's count alone)
            f.ops.merge(own)
            continue
        key = (c.coll, c.doc_id)
        f0 = out.get(key)
        if (
            f0 is not None
            and c.coll in INSERTED
            and f0.ops.st.get("at", "") > c.ops.st.get("at", "")
        ):
            continue  # a whole document: an older event than the one folded already
        f = folded(key, c)
        if f is not None:
            f.ops.merge(c.ops)
    return list(out.values())
