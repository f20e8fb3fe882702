"""An item's state (post, reply, review, idea) and what it contributes to the counters. Pure.

An item's document (``listening_items/<id>``) is the merge of every event about it, and the
counters (sentiment per day and dimension, the day's items and sketch bins, the searches
"asked anyway") hold the sum of the *contributions* of the items that count. An event
changes the item's state; the counters move by ``contribution(after) - contribution(before)``
(:func:`delta`), so that an edit replaces the old contribution by the new one, and a deletion
or a hide takes it away, exactly once.

The merge does not depend on the order of the events (each field is last-writer-wins by
``(event time, event id)``; a deletion is final), and applying an event twice changes
nothing (the state after is the state before, so the delta is empty):

* ``PostCreated`` / ``IdeaSubmitted``: what the item is (kind, day, hour, thread, author,
  product, group, tags) and its first text; the title and body keep their own versions, so
  an edit that arrived first is not overwritten by the older creation; two creations of one
  id (different events): the later one decides what it is (its version ``tv.identity``);
* ``PostEdited``: a new title, body (None: unchanged) and, for an opening post, tags;
* ``PostDeleted``: gone for good; ``PostHidden`` / ``PostRestored``: hidden or not, the
  latest of the two wins.

The item counts (``live``) when it was created and is neither deleted nor hidden. Its
scores and terms are those of its current text, computed when the text changes and stored
with it (``compound`` ... ``label``, ``t``/``w``): taking a contribution away never
re-scores, and does not depend on the scoring code of the day.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from schemas import search as s

from . import sketch
from .changes import DAYS, SEARCHES, SENTIMENT, Ops, day_of, hour_of
from .phrases import phrases
from .sentiment import MAX_CHARS, score, text_of

Doc = dict[str, Any]
Version = list[str]
#: the dimensions whose spikes are alerts
ALERTED = ("product", "tag")
#: the item's fields set by its creation (what it is)
IDENTITY = ("kind", "day", "hour", "thread", "author", "product", "group", "tags")


def version(t: datetime, event_id: str) -> Version:
    """A last-writer-wins stamp: the event's time (UTC, fixed width), then its id."""
    return [t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f"), event_id]


def _newer(v: Version, old: Any) -> bool:
    return old is None or list(v) > list(old)


def _scopes(doc: Doc) -> list[str]:
    out = ["all"]
    if doc.get("group"):
        out.append(f"g:{doc['group']}")
    if doc.get("product"):
        out.append(f"p:{doc['product']}")
    out += [f"t:{t}" for t in doc.get("tags") or ()]
    return out


def created(
    doc: Doc | None,
    item_id: str,
    v: Version,
    *,
    when: datetime,
    kind: str,
    thread: str,
    author: str,
    product: str | None,
    group: str | None,
    tags: tuple[str, ...],
    title: str | None,
    body: str | None,
) -> Doc:
    """The state after the item's creation (``doc``: the state before, maybe ``None``)."""
    new = dict(doc or {"_id": item_id})
    tv = dict(new.get("tv") or {})
    if "kind" in new and not _newer(v, tv.get("identity")):
        return new  # created by a later event (or this one) already: it decides what it is
    new.update(
        kind=kind,
        day=day_of(when),
        hour=hour_of(when),
        thread=thread,
        author=author,
        product=product,
        group=group,
        tags=list(tags) if _newer(v, tv.get("tags")) else new.get("tags", list(tags)),
    )
    tv["identity"] = v
    for name, value in (("title", title), ("body", body)):
        if _newer(v, tv.get(name)):
            new[name] = value[:MAX_CHARS] if value else value
            tv[name] = v
    new["tv"] = tv
    return _rescored(new)


def edited(
    doc: Doc | None,
    item_id: str,
    v: Version,
    *,
    title: str | None,
    body: str | None,
    tags: list[str] | None,
) -> Doc:
    """The state after an edit (None: that field unchanged)."""
    new = dict(doc or {"_id": item_id})
    tv = dict(new.get("tv") or {})
    changed = False
    for name, value in (("title", title), ("body", body), ("tags", tags)):
        if value is None or not _newer(v, tv.get(name)):
            continue
        if name == "tags":
            if "kind" not in new or new.get("thread") != item_id:
                continue  # tags exist on opening posts (known once created) only
            value = list(dict.fromkeys(value))
        new[name] = value[:MAX_CHARS] if isinstance(value, str) else value
        tv[name] = v
        changed = True
    if not changed:
        return new
    new["tv"] = tv
    return _rescored(new)


def deleted(doc: Doc | None, item_id: str) -> Doc:
    new = dict(doc or {"_id": item_id})
    new["deleted"] = True
    return _live(new)


def hidden(doc: Doc | None, item_id: str, v: Version, hide: bool) -> Doc:
    new = dict(doc or {"_id": item_id})
    if _newer(v, new.get("hv")):
        new["hv"] = v
        new["hidden"] = hide
    return _live(new)


def _rescored(doc: Doc) -> Doc:
    if "kind" not in doc:
        return _live(doc)  # text known before the creation: scored when created
    text = text_of(doc.get("title"), doc.get("body"))
    sc = score(text)
    terms = phrases(text)
    doc.update(
        compound=sc.compound,
        neg=sc.neg,
        neu=sc.neu,
        pos=sc.pos,
        label=sc.label,
        units=sc.units,
        t=list(terms),
        w=list(terms.values()),
        scopes=_scopes(doc),
    )
    q = s.normalize_query(doc["title"]) if doc["kind"] == "question" and doc.get("title") else ""
    if q:
        doc["q"] = q
    else:
        doc.pop("q", None)
    return _live(doc)


def _live(doc: Doc) -> Doc:
    doc["live"] = "kind" in doc and not doc.get("deleted") and not doc.get("hidden")
    return doc


def query_id(day: str, query: str) -> str:
    """``<day>|<hash>``: queries are free text (any length, any character)."""
    return f"{day}|{hashlib.sha1(query.encode()).hexdigest()[:20]}"


def contribution(doc: Doc | None) -> Iterator[tuple[str, str, Ops]]:
    """(collection, document id, ``$inc``/``$set``) of what a live item adds to the counters."""
    if not doc or not doc.get("live"):
        return
    day = doc["day"]
    dims = [("all", "*")]
    if doc.get("product"):
        dims.append(("product", doc["product"]))
    if doc.get("group"):
        dims.append(("group", doc["group"]))
    dims += [("tag", t) for t in doc.get("tags") or ()]
    short = {"negative": "neg", "neutral": "neu", "positive": "pos"}[doc["label"]]
    for dim, key in dims:
        inc = {"n": 1, "c": int(doc["units"]), short: 1}
        if doc["kind"] == "question":
            inc["q"] = 1
        yield SENTIMENT, f"{dim}|{day}|{key}", Ops(inc=inc, st={"dim": dim, "day": day, "key": key})
    # the baseline side of trending: the day's items and the count-min sketch of its terms,
    # as one change of the day's document: its bins ``c.<bin>`` go to the day's block
    # documents (``<scope>|<day>|<bin // BLOCK>``) when the batch is folded (changes.fold)
    counters: dict[str, int] = {}
    sketch.add(counters, doc.get("t") or ())
    bins = {f"c.{b}": n for b, n in counters.items()}
    for scope in _scopes(doc):
        if scope.startswith("t:"):
            continue  # trending is per community, group or product
        yield DAYS, f"{scope}|{day}", Ops(inc={"n": 1, **bins}, st={"scope": scope, "day": day})
    if doc.get("q"):
        q = doc["q"]
        yield SEARCHES, query_id(day, q), Ops(inc={"asked": 1}, st={"day": day, "q": q})


def delta(before: Doc | None, after: Doc) -> Iterator[tuple[str, str, Ops]]:
    """What the counters move by when the item goes from ``before`` to ``after``."""
    if before is not None and _same(before, after):
        return
    if before is None or not before.get("live"):
        yield from contribution(after)
        return
    # net per document (an edit that keeps most terms moves few bins)
    net: dict[tuple[str, str], Ops] = {}
    for sign, doc in ((-1, before), (1, after)):
        for coll, doc_id, ops in contribution(doc):
            o = net.setdefault((coll, doc_id), Ops())
            o.merge(Ops(inc={k: sign * v for k, v in ops.inc.items()}, st=ops.st))
    for (coll, doc_id), o in net.items():
        o.inc = {k: v for k, v in o.inc.items() if v}
        if o.inc:
            yield coll, doc_id, o


#: what the contribution depends on
_CONTRIBUTES = (*IDENTITY, "live", "units", "label", "t", "q")


def _same(a: Doc, b: Doc) -> bool:
    return all(a.get(k) == b.get(k) for k in _CONTRIBUTES)
