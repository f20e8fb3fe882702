"""Events → listening changes (issue 26 items 1, 2, 4). Pure.

* ``PostCreated`` (every kind: question, discussion, article, media, review, reply) and
  ``IdeaSubmitted``: the item is scored with VADER (domain.sentiment) and its phrases
  extracted (domain.phrases); it counts in the sentiment of its UTC day for every product,
  tag and group it belongs to (a reply belongs to its thread's), and in the trending
  counts of its hour and day for the whole community, its group and its product. A question
  also counts as asked after a search of its title (``listening_searches.asked``).
* ``SearchPerformed``: one search of its normalised query that day (weighted by
  ``1 / sample_rate``), and one with no result when ``result_count`` is 0.

Edits and deletions do not re-score an item (see the README: not done yet).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from communitykit.consumer import Received
from schemas import forum as f
from schemas import ideas as i
from schemas import search as s

from . import sketch
from .changes import (
    DAYS,
    HOURS,
    INSERTED,
    ITEMS,
    SEARCHES,
    SENTIMENT,
    THREADS,
    Change,
    Ops,
    day_of,
    fkey,
    hour_of,
    order_key,
    seq_key,
)
from .phrases import phrases
from .sentiment import score, text_of

#: the dimensions whose spikes are alerts (their days keep the threads of questions and
#: negative items, for the alert's examples)
ALERTED = ("product", "tag")


@dataclass(frozen=True)
class ThreadInfo:
    product: str | None
    group: str | None
    tags: tuple[str, ...]


def query_id(day: str, query: str) -> str:
    """``<day>|<hash>``: queries are free text (any length, any character)."""
    return f"{day}|{hashlib.sha1(query.encode()).hexdigest()[:20]}"


def thread_refs(batch: Iterable[Received]) -> set[str]:
    """Threads whose product/group/tags the batch's replies need."""
    return {
        r.event.data.thread_id
        for r in batch
        if isinstance(r.event.data, f.PostCreated) and r.event.data.parent_post_id is not None
    }


class Changes:
    """Collects the changes of a batch. ``threads``: what is known of the threads the
    batch's replies belong to (opening posts of the batch are added as they come)."""

    def __init__(self, threads: Mapping[str, ThreadInfo]) -> None:
        self.threads = dict(threads)
        #: ids of the sentiment documents the batch touches (the spike check reads them)
        self.sentiment_keys: set[str] = set()
        self.out: list[Change] = []

    def add_all(self, batch: Iterable[Received]) -> list[Change]:
        for r in batch:
            self.add(r)
        return self.out

    def _emit(self, coll: str, doc_id: str, r: Received, ops: Ops) -> None:
        if coll in INSERTED:  # a whole document: the last writer by event time, then id
            ops.st["at"] = order_key(r.event.time, r.event.id)
        self.out.append(Change(coll, doc_id, seq_key(r.topic, r.partition), r.offset, ops))

    def add(self, r: Received) -> None:
        d = r.event.data
        if isinstance(d, f.PostCreated):
            self._post(r, d)
        elif isinstance(d, i.IdeaSubmitted):
            text = text_of(d.title, d.description)
            self._item(r, d.idea_id, "idea", d.idea_id, d.author_id, text, None, None, ())
        elif isinstance(d, s.SearchPerformed):
            self._search(r, d)

    def _post(self, r: Received, d: f.PostCreated) -> None:
        if d.parent_post_id is None:
            info = ThreadInfo(d.product_id, d.group_id, tuple(dict.fromkeys(d.tags)))
            self.threads[d.thread_id] = info
            self._emit(
                THREADS,
                d.thread_id,
                r,
                Ops(st={"product": info.product, "group": info.group, "tags": list(info.tags)}),
            )
        else:
            info = self.threads.get(d.thread_id) or ThreadInfo(d.product_id, d.group_id, ())
        text = text_of(d.title, d.body)
        product = d.product_id or info.product
        group = d.group_id or info.group
        self._item(r, d.post_id, d.kind, d.thread_id, d.author_id, text, product, group, info.tags)
        if d.kind == "question" and d.title:
            q = s.normalize_query(d.title)
            if q:
                day = day_of(r.event.time)
                self._emit(
                    SEARCHES,
                    query_id(day, q),
                    r,
                    Ops(inc={"asked": 1}, st={"day": day, "q": q}),
                )

    def _item(
        self,
        r: Received,
        item_id: str,
        kind: str,
        thread: str,
        author: str,
        text: str,
        product: str | None,
        group: str | None,
        tags: tuple[str, ...],
    ) -> None:
        sc = score(text)
        day = day_of(r.event.time)
        hour = hour_of(r.event.time)
        label = sc.label
        self._emit(
            ITEMS,
            item_id,
            r,
            Ops(
                st={
                    "kind": kind,
                    "day": day,
                    "thread": thread,
                    "author": author,
                    "product": product,
                    "group": group,
                    "tags": list(tags),
                    "compound": sc.compound,
                    "neg": sc.neg,
                    "neu": sc.neu,
                    "pos": sc.pos,
                    "label": label,
                }
            ),
        )
        # sentiment per day and dimension
        dims = [("all", "*")]
        if product:
            dims.append(("product", product))
        if group:
            dims.append(("group", group))
        dims += [("tag", t) for t in tags]
        short = {"negative": "neg", "neutral": "neu", "positive": "pos"}[label]
        tkey = fkey(thread)
        for dim, key in dims:
            inc = {"n": 1, "c": sc.units, short: 1}
            if kind == "question":
                inc["q"] = 1
            st: dict[str, object] = {"dim": dim, "day": day, "key": key}
            if dim in ALERTED:  # the spikes' example threads (alerts.py)
                if kind == "question":
                    st[f"qt.{tkey}"] = 1
                if label == "negative":
                    st[f"nt.{tkey}"] = 1
            doc_id = f"{dim}|{day}|{key}"
            self.sentiment_keys.add(doc_id)
            self._emit(SENTIMENT, doc_id, r, Ops(inc=inc, st=st))
        # trending: the window side (hours, exact) and the baseline side (days, sketched)
        terms = phrases(text)
        scopes = ["all"]
        if group:
            scopes.append(f"g:{group}")
        if product:
            scopes.append(f"p:{product}")
        # one entry per item and hour: a single field, whatever the number of terms (on the
        # store, the cost of an update grows with the fields it touches); the window's counts,
        # members and threads per term are added up when read
        entry = {"a": author, "x": thread, "t": list(terms), "w": list(terms.values())}
        ikey = f"i.{fkey(item_id)}"
        day_inc: dict[str, int] = {}
        sketch.add(day_inc, terms)
        day_inc = {"n": 1, **{f"c.{k}": v for k, v in day_inc.items()}}
        for scope in scopes:
            self._emit(
                HOURS, f"{scope}|{hour}", r, Ops(st={"scope": scope, "hour": hour, ikey: entry})
            )
            self._emit(
                DAYS, f"{scope}|{day}", r, Ops(inc=dict(day_inc), st={"scope": scope, "day": day})
            )

    def _search(self, r: Received, d: s.SearchPerformed) -> None:
        q = s.normalize_query(d.query)
        if not q:
            return
        day = day_of(r.event.time)
        weight = max(1, round(1 / d.sample_rate))
        inc = {"n": weight}
        if d.result_count == 0:
            inc["zero"] = weight
        self._emit(SEARCHES, query_id(day, q), r, Ops(inc=inc, st={"day": day, "q": q}))
