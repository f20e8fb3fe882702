"""forum.events → the thread read models (``thread_list``, ``thread_tags``, ``post_stats``).

The forum's own consumer of its own events (consumer group ``FORUM_THREADS_CONSUMER_GROUP``):
a reply is one insert of its post, a vote one upsert of its vote document; everything that
follows from them on OTHER documents is derived here:

* per thread (``thread_list``): reply count, replies by others than the asker, last
  activity, the opening post's score, accepted answer, escalation waiting, removed, hidden,
  ``status`` (SPEC 3) and the list item's title/tags/kind/... — GET /threads reads these;
* per voted post (``post_stats``): its score (the sum of its votes' ``value -
  previous_value``) and the tags of the last votes applied (PUT /vote answers from them);
* per (thread, tag) (``thread_tags``): the thread's sort keys, for GET /threads?tag=.

Per batch: one read of the touched documents (``_id $in``), the batch folded in memory, one
write per touched document (``bulk_write``), the consumed position recorded IN that write
(``part``/``pos``: every event of a thread is in the thread's partition, keyed by its id, so
an event at or below a document's position was applied to it: exactly once under
redelivery). The cost of a batch follows the batch, never the thread's length.

Cross-aggregate rules are commands on the thread aggregate through the repository
(Thread.observe_replies: whether others replied, a support reply resolving an escalation, a
deleted accepted answer), and on the opening post of a removed thread (Post.mark_removed),
issued BEFORE the batch's writes: a crash in between redelivers the batch, which issues them
again (they are idempotent) and then writes. A rebuild (rebuild.py) runs without them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymongo import DeleteMany, InsertOne, UpdateOne

from communitykit.consumer import Received
from communitykit.problems import NotFoundError
from schemas.forum import (
    AnswerAccepted,
    AnswerUnaccepted,
    EscalationReopened,
    EscalationResolved,
    PostCreated,
    PostDeleted,
    PostEdited,
    PostHidden,
    PostRestored,
    QuestionEscalated,
    VoteCast,
)

from ..adapters import repository as repos
from ..adapters.mongo import Doc, ForumDb
from ..domain import rules
from ..domain.thread import Event, Thread
from ..domain.vote import event_tag
from ..handlers._common import now

log = logging.getLogger(__name__)

#: how many tags of the events it applied a read-model document keeps (~3.5 KB): the relay
#: publishes at least once, so an event can come again at a LATER offset (two relay
#: replicas, or a relay that died between publishing and marking); such a copy follows its
#: original within one relay round, far fewer events of one thread than this
RECENT = 256
#: the fields of a list item a tag row copies (its sort keys)
TAG_KEYS = ("created_at", "last_activity_at", "score")


def ms(t: datetime) -> datetime:
    """At the precision the store keeps (a rebuild and the live state compare equal)."""
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


def new_item(thread_id: str) -> Doc:
    return {
        "_id": thread_id,
        "part": -1,
        "pos": -1,
        "reply_count": 0,
        "other_reply_count": 0,
        "score": 0,
        "accepted_post_id": None,
        "escalation_open": False,
        "deleted": False,
        "hidden": False,
        "status": "open",
        "tags": [],
        "recent": [],
    }


def seen(doc: Doc, r: Received) -> bool:
    """Was ``r`` applied to ``doc`` already? Its position covers it (a redelivery), or its
    tag is among the last applied (a copy the relay published again)."""
    if doc["part"] == r.partition and r.offset <= doc["pos"]:
        return True
    return event_tag(r.event.id) in doc["recent"]


def mark(doc: Doc, r: Received) -> None:
    """``r`` is applied to ``doc``: its position and its tag, in the same write."""
    doc["part"], doc["pos"] = r.partition, r.offset  # (records come in offset order)
    doc["recent"] = [*doc["recent"], event_tag(r.event.id)][-RECENT:]


@dataclass
class ThreadFold:
    """One thread's part of a batch: its list item before/after and what its commands need."""

    before: Doc | None
    after: Doc
    redelivered: bool = False
    support_reply: tuple[str, datetime] | None = None
    deleted_replies: set[str] = field(default_factory=set)
    removed_opening: str | None = None

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def others(self, d: Doc | None) -> bool:
        return d is not None and int(d["other_reply_count"]) > 0

    @property
    def needs_observe(self) -> bool:
        return (
            self.others(self.before) != self.others(self.after)
            or self.support_reply is not None
            or bool(self.deleted_replies)
        )


def fold_thread(
    thread_id: str, before: Doc | None, records: Sequence[Received], stats: dict[str, Doc]
) -> ThreadFold:
    """Apply one thread's records (in offset order) to its list item and to the ``stats`` of
    its voted posts (changed in place: the caller loaded them). Pure: no I/O."""
    item = dict(before) if before is not None else new_item(thread_id)
    item["tags"] = list(item.get("tags") or [])
    item["recent"] = list(item.get("recent") or [])
    f = ThreadFold(before, item)
    for r in records:
        d = r.event.data
        if isinstance(d, VoteCast):
            _vote(item, stats, r, d)
            continue
        if seen(item, r):
            f.redelivered = True
            continue
        mark(item, r)
        at = ms(r.event.time)
        if isinstance(d, PostCreated):
            _created(item, f, d, at)
        elif isinstance(d, PostDeleted):
            if d.kind != "reply":
                item["deleted"] = True
                f.removed_opening = d.post_id
            else:
                item["reply_count"] -= 1
                if d.author_id != (d.thread_author_id or item.get("author_id")):
                    item["other_reply_count"] -= 1
                f.deleted_replies.add(d.post_id)
                if item["accepted_post_id"] == d.post_id:
                    item["accepted_post_id"] = None
        elif isinstance(d, PostEdited):
            if d.post_id == item.get("opening_post_id"):
                if d.title is not None:
                    item["title"] = d.title
                if d.tags is not None:
                    item["tags"] = list(d.tags)
        elif isinstance(d, (PostHidden, PostRestored)):
            hidden = isinstance(d, PostHidden)
            if d.post_id == item.get("opening_post_id"):
                item["hidden"] = hidden
            elif "opening_post_id" not in item:  # before its PostCreated (other outbox)
                item.setdefault("early_hidden", {})[d.post_id] = hidden
        elif isinstance(d, AnswerAccepted):
            item["accepted_post_id"] = d.answer_post_id
        elif isinstance(d, AnswerUnaccepted):
            if item["accepted_post_id"] == d.answer_post_id:
                item["accepted_post_id"] = None
        elif isinstance(d, (QuestionEscalated, EscalationReopened)):
            item["escalation_open"] = True
        elif isinstance(d, EscalationResolved):
            item["escalation_open"] = False
    item["status"] = (
        "deleted"
        if item["deleted"]
        else rules.thread_status(
            has_other_reply=item["other_reply_count"] > 0,
            accepted=item["accepted_post_id"] is not None,
            escalation_open=item["escalation_open"],
        )
    )
    return f


def _created(item: Doc, f: ThreadFold, d: PostCreated, at: datetime) -> None:
    if d.parent_post_id is None:  # the opening post: the list item's own fields
        item.update(
            kind=d.kind,
            title=d.title or "",
            author_id=d.author_id,
            group_id=d.group_id,
            tags=list(d.tags),
            product_id=d.product_id,
            rating=d.rating,
            media=[m.model_dump() for m in d.media],
            opening_post_id=d.post_id,
            created_at=at,
            last_activity_at=max(at, item.get("last_activity_at") or at),
        )
        early = item.pop("early_hidden", {})
        if d.post_id in early:
            item["hidden"] = early[d.post_id]
        return
    item["reply_count"] += 1
    asker = d.thread_author_id or item.get("author_id")
    if d.author_id != asker:
        item["other_reply_count"] += 1
        if d.by_support:
            f.support_reply = (d.author_id, at)
    item["last_activity_at"] = max(at, item.get("last_activity_at") or at)


def _vote(item: Doc, stats: dict[str, Doc], r: Received, d: VoteCast) -> None:
    s = stats.setdefault(
        d.target_id,
        {
            "_id": d.target_id,
            "thread_id": d.thread_id,
            "score": 0,
            "recent": [],
            "part": -1,
            "pos": -1,
        },
    )
    if not seen(s, r):
        mark(s, r)
        s["score"] += d.value - d.previous_value
    if d.target_kind != "reply":  # the opening post's score is the list's "top"
        item["score"] = s["score"]


class ThreadsProjection:
    def __init__(self, db: ForumDb, *, commands: bool = True) -> None:
        """``commands``: issue the cross-aggregate commands (off for a rebuild)."""
        self.db = db
        self.commands = commands

    async def apply(self, batch: Sequence[Received]) -> None:
        by_thread: dict[str, list[Received]] = {}
        for r in batch:
            tid = getattr(r.event.data, "thread_id", None)
            if isinstance(tid, str):
                by_thread.setdefault(tid, []).append(r)
        if not by_thread:
            return
        ids = sorted(by_thread)
        items = {
            d["_id"]: d for d in await self.db.thread_list.find({"_id": {"$in": ids}}).to_list(None)
        }
        voted = sorted(
            {
                r.event.data.target_id
                for rs in by_thread.values()
                for r in rs
                if isinstance(r.event.data, VoteCast)
            }
        )
        stats_before: dict[str, Doc] = {}
        if voted:
            stats_before = {
                d["_id"]: d
                for d in await self.db.post_stats.find({"_id": {"$in": voted}}).to_list(None)
            }
        stats = {k: {**v, "recent": list(v.get("recent") or [])} for k, v in stats_before.items()}
        folds = {tid: fold_thread(tid, items.get(tid), rs, stats) for tid, rs in by_thread.items()}
        if self.commands:
            await self._commands(folds)
        await _write(self.db.thread_list, {t: (f.before, f.after) for t, f in folds.items()})
        await _write(self.db.post_stats, {k: (stats_before.get(k), v) for k, v in stats.items()})
        await self._tags(folds)

    async def _commands(self, folds: dict[str, ThreadFold]) -> None:
        at = now()
        for tid, f in folds.items():
            if f.needs_observe:
                try:
                    await repos.threads(self.db).change(tid, _observe(f, at))
                except NotFoundError:
                    pass  # removed: nothing to decide any more
            if f.removed_opening is not None:
                try:
                    await repos.posts(self.db).change(
                        f.removed_opening, lambda p: p.mark_removed(at)
                    )
                except NotFoundError:
                    pass  # flagged already

    async def _tags(self, folds: dict[str, ThreadFold]) -> None:
        """Each touched thread's tag rows, copied from its list item (absolute values: a
        repeated copy changes nothing; a redelivered batch copies again what a crash may have
        left behind)."""
        ops: list[Any] = []
        for tid, f in folds.items():
            a, b = f.after, f.before or {}
            if "created_at" not in a:
                continue
            keys = {k: a.get(k) for k in TAG_KEYS}
            if (
                not f.redelivered
                and keys == {k: b.get(k) for k in TAG_KEYS}
                and (a["tags"] == b.get("tags"))
            ):
                continue
            for tag in a["tags"]:
                ops.append(
                    UpdateOne(
                        {"_id": f"{tid}:{tag}"},
                        {"$set": {"tag": tag, "thread_id": tid, **keys}},
                        upsert=True,
                    )
                )
            if f.redelivered or a["tags"] != b.get("tags"):
                ops.append(DeleteMany({"thread_id": tid, "tag": {"$nin": a["tags"]}}))
        if ops:
            await self.db.thread_tags.bulk_write(ops, ordered=False)


def _observe(f: ThreadFold, at: datetime) -> Callable[[Thread], list[Event]]:
    """The command that tells the thread what the projection saw of its replies."""
    support = f.support_reply

    def command(t: Thread) -> list[Event]:
        return t.observe_replies(
            others_live=f.others(f.after),
            support_reply_at=support[1] if support else None,
            support_author_id=support[0] if support else None,
            deleted_post_ids=frozenset(f.deleted_replies),
            at=at,
        )

    return command


async def _write(coll: Any, docs: dict[str, tuple[Doc | None, Doc]]) -> None:
    """One write per changed document: an insert for a new one, else a ``$set`` guarded by
    the position it was read at. A miss means another consumer wrote it meanwhile (a
    rebalance): the batch fails and is redelivered, re-read and re-folded."""
    ops: list[Any] = []
    updates = 0
    for key, (before, after) in docs.items():
        if before == after:
            continue
        if before is None:
            ops.append(InsertOne(after))
        else:
            update: Doc = {"$set": {k: v for k, v in after.items() if k != "_id"}}
            if gone := [k for k in before if k not in after]:
                update["$unset"] = dict.fromkeys(gone, "")
            ops.append(
                UpdateOne({"_id": key, "part": before["part"], "pos": before["pos"]}, update)
            )
            updates += 1
    if not ops:
        return
    res = await coll.bulk_write(ops, ordered=False)
    if res.matched_count != updates:
        raise RuntimeError(f"{coll.name}: a concurrent writer moved {updates - res.matched_count}")
