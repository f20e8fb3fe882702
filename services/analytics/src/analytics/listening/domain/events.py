"""Events → listening changes (issue 26 items 1, 2, 4). Pure.

* ``PostCreated`` (every kind: question, discussion, article, media, review, reply) and
  ``IdeaSubmitted``: the item is scored with VADER (domain.sentiment) and its phrases
  extracted (domain.phrases); it counts in the sentiment of its UTC day for every product,
  tag and group it belongs to (a reply belongs to its thread's), and in the trending
  counts of its day for the whole community, its group and its product (domain.items). A
  question also counts as asked after a search of its title (``listening_searches.asked``).
* ``PostEdited``, ``PostDeleted``, ``PostHidden``, ``PostRestored``: the item's state
  changes (domain.items) and the counters move by the difference of its contributions: an
  edit is re-scored and replaces its old contribution, a deleted or hidden post stops
  counting, a restored one counts again.
* ``SearchPerformed``: one search of its normalised query that day (weighted by
  ``1 / sample_rate``), and one with no result when ``result_count`` is 0.

An edit of an opening post's tags moves that post's own contribution to its new tags; the
replies keep the tags they were counted under (the thread's when they were written).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from communitykit.consumer import Received
from schemas import forum as f
from schemas import ideas as i
from schemas import search as s

from . import items
from .changes import (
    INSERTED,
    SEARCHES,
    SENTIMENT,
    THREADS,
    Change,
    Ops,
    day_of,
    order_key,
    seq_key,
)
from .items import ALERTED, query_id

__all__ = ["ALERTED", "Changes", "ThreadInfo", "item_ids", "query_id", "thread_refs"]
Doc = dict[str, Any]
#: the events that change an item already created
_ITEM_EVENTS = (f.PostEdited, f.PostDeleted, f.PostHidden, f.PostRestored)


@dataclass(frozen=True)
class ThreadInfo:
    product: str | None
    group: str | None
    tags: tuple[str, ...]


def thread_refs(batch: Iterable[Received]) -> set[str]:
    """Threads whose product/group/tags the batch's replies need."""
    return {
        r.event.data.thread_id
        for r in batch
        if isinstance(r.event.data, f.PostCreated) and r.event.data.parent_post_id is not None
    }


def item_ids(batch: Iterable[Received]) -> set[str]:
    """The items (posts, ideas) the batch's events are about."""
    out = set()
    for r in batch:
        d = r.event.data
        if isinstance(d, (f.PostCreated, *_ITEM_EVENTS)):
            out.add(d.post_id)
        elif isinstance(d, i.IdeaSubmitted):
            out.add(d.idea_id)
    return out


class Changes:
    """Collects the changes of a batch. ``threads``: what is known of the threads the
    batch's replies belong to (opening posts of the batch are added as they come);
    ``stored``: the stored state of the batch's items (absent: none yet).

    ``out``: the counters' changes; ``items``: the items' states after the batch, with
    ``first``: per partition, the offset of the first event that changed each (its write's
    guard)."""

    def __init__(self, threads: Mapping[str, ThreadInfo], stored: Mapping[str, Doc]) -> None:
        self.threads = dict(threads)
        self.stored = stored
        #: ids of the sentiment documents the batch touches (the spike check reads them)
        self.sentiment_keys: set[str] = set()
        self.out: list[Change] = []
        self.items: dict[str, Doc] = {}
        self.first: dict[str, dict[str, int]] = {}
        #: per item, the last offset of its events per partition (a copy of an event may come
        #: from another partition than the item's others)
        self.seq: dict[str, dict[str, int]] = {}
        #: per possible alert (``<kind>|<dim>|<key>|<day>``): the threads of the batch's
        #: live questions / negative items there (an alert's examples)
        self.examples: dict[str, set[str]] = {}

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
            self._item(
                r,
                d.idea_id,
                "idea",
                d.idea_id,
                d.author_id,
                (d.title, d.description),
                None,
                None,
                (),
            )
        elif isinstance(d, s.SearchPerformed):
            self._search(r, d)
        elif isinstance(d, _ITEM_EVENTS):
            self._change(r, d)

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
        product = d.product_id or info.product
        group = d.group_id or info.group
        self._item(
            r, d.post_id, d.kind, d.thread_id, d.author_id, (d.title, d.body), product, group,
            info.tags,
        )  # fmt: skip

    def _item(
        self,
        r: Received,
        item_id: str,
        kind: str,
        thread: str,
        author: str,
        text: tuple[str | None, str | None],
        product: str | None,
        group: str | None,
        tags: tuple[str, ...],
    ) -> None:
        applied, before = self._state(r, item_id)
        if applied:
            return
        after = items.created(
            before,
            item_id,
            items.version(r.event.time, r.event.id),
            when=r.event.time,
            kind=kind,
            thread=thread,
            author=author,
            product=product,
            group=group,
            tags=tags,
            title=text[0],
            body=text[1],
        )
        self._moved(r, item_id, before, after)

    def _change(
        self, r: Received, d: f.PostEdited | f.PostDeleted | f.PostHidden | f.PostRestored
    ) -> None:
        applied, doc = self._state(r, d.post_id)
        if applied:
            return
        v = items.version(r.event.time, r.event.id)
        if isinstance(d, f.PostEdited):
            after = items.edited(doc, d.post_id, v, title=d.title, body=d.body, tags=d.tags)
        elif isinstance(d, f.PostDeleted):
            after = items.deleted(doc, d.post_id)
        else:
            after = items.hidden(doc, d.post_id, v, isinstance(d, f.PostHidden))
        self._moved(r, d.post_id, doc, after)

    def _state(self, r: Received, item_id: str) -> tuple[bool, Doc | None]:
        """(is ``r`` in the stored state already, the item's state before ``r``). The
        first: a batch replayed after its items were written."""
        if item_id in self.items:
            return False, self.items[item_id]
        stored = self.stored.get(item_id)
        if stored is None:
            return False, None
        if r.offset <= (stored.get("seq") or {}).get(seq_key(r.topic, r.partition), -1):
            return True, stored
        return False, {k: v for k, v in stored.items() if k != "seq"}

    def _moved(self, r: Received, item_id: str, before: Doc | None, after: Doc) -> None:
        for coll, doc_id, ops in items.delta(before, after):
            if coll == SENTIMENT:
                self.sentiment_keys.add(doc_id)
            self._emit(coll, doc_id, r, ops)
        self.items[item_id] = after
        self.first.setdefault(item_id, {}).setdefault(seq_key(r.topic, r.partition), r.offset)
        if after.get("live"):
            dims = [("product", after.get("product"))] + [("tag", t) for t in after["tags"]]
            for kind, yes in (
                ("questions", after["kind"] == "question"),
                ("negative", after["label"] == "negative"),
            ):
                for dim, key in dims:
                    if yes and key:
                        aid = f"{kind}|{dim}|{key}|{after['day']}"
                        self.examples.setdefault(aid, set()).add(after["thread"])
        self.seq.setdefault(item_id, {})[seq_key(r.topic, r.partition)] = r.offset

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
