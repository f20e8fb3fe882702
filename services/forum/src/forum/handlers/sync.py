"""Counters kept on one document from changes recorded on another, exactly once.

A reply (or its deletion) is recorded on its ``posts`` document, a vote on its ``votes``
document, each with its event in the same single-document write (outbox): that document is
the source of truth. Its effect on ANOTHER document — the thread's ``reply_count``,
``other_reply_count``, status and ``last_activity_at``; the post's ``score`` and the thread's
copy of the opening post's score — is one atomic ``$inc``/``$max``/``$set`` update of that
other document. There is no multi-document transaction, so the effect is made exactly-once
like this:

1. the source write also marks the change pending (``sync_add_at`` / ``sync_del_at`` on the
   post, ``sync_at`` + ``sync_event`` + ``sync_delta`` on the vote; indexed);
2. the target update carries a token of the change (``applied.<token>`` on the thread,
   ``applied_votes.<event id>`` on the post) and its filter requires that token to be absent,
   so the change is applied at most once, whoever applies it and however often they retry;
3. the pending mark is cleared;
4. the request that made the change removes its token (a reply's: by the next update of
   its thread, or the sync loop; see TokenRemover), if it cleared its mark before anyone
   else claimed it. Any other writer (the sync loop, or the same voter's next request
   finishing a previous change) first claims the mark, atomically and only while it is still
   there, then does steps 2-3 and never removes the token: so once a token is removed, no
   writer that saw the change as pending is left to apply it again.

A process dying between 1 and 3 leaves the mark; every replica's sync loop applies marks older
than ``FORUM_SYNC_GRACE_SECONDS`` (claim, the same guarded step 2 — a no-op if the dead
request got that far — and step 3). A claimed change's token stays on its document (a few
bytes per crash, or per race of one voter's concurrent requests). No step depends on
timing: the grace period only spares live requests.
Hence, once the marks are cleared: ``reply_count`` = live replies,
``other_reply_count`` = live replies by others than the asker, post ``score`` = sum of its
standing votes, whatever crashed where.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta
from typing import Any

from pymongo import ReturnDocument

from communitykit.outbox import outbox_ops

from ..adapters.mongo import Doc, ForumDb
from ..domain.post import Post
from ..domain.thread import Thread
from . import tags as thread_tags
from ._common import MAX_RETRIES, TOPIC, now

log = logging.getLogger(__name__)

#: what a writer re-reads of a thread when its guarded update missed
_THREAD_FIELDS = {"outbox": 0, "title": 0, "media": 0}


def reply_token(post_id: str, delta: int) -> str:
    return post_id if delta > 0 else f"{post_id}_del"


def plan_reply_change(t: Doc, post: Doc, delta: int, at: Any) -> tuple[Doc, Doc, list[Any]]:
    """The guarded update of thread ``t`` for one reply added (+1) or deleted (-1).

    The rule (status, a support reply ending an escalation) is Thread.apply_reply; this adds
    the atomic counters. The filter guards only what that rule reads (accepted answer,
    escalation and its round, whether someone other than the asker replied, whether support
    replied), never a version: concurrent replies to a hot thread all match and apply their
    ``$inc`` atomically; only a change of those inputs makes a writer re-read and
    recompute, and such a change bumps ``version`` for the version-guarded commands."""
    token = reply_token(post["_id"], delta)
    other = post["author_id"] != t["author_id"]
    before = int(t.get("other_reply_count", 0))
    after = before + (delta if other else 0)
    thread = Thread.from_doc(t)
    events = thread.apply_reply(Post.from_doc(post), delta, after, at)
    changed = {k: v for k, v in thread.fields().items() if thread.snapshot.get(k) != v}
    filt: Doc = {
        "_id": t["_id"],
        f"applied.{token}": {"$exists": False},
        "accepted_post_id": t.get("accepted_post_id"),
        "escalation_state": t.get("escalation_state"),
        "escalation_round": t.get("escalation_round"),
        "other_reply_count": {"$gt": 0} if before > 0 and after > 0 else before,
        "support_replied": True if t.get("support_replied") else {"$ne": True},
        # a deleted thread keeps its status "deleted" (counters still follow the posts)
        "deleted": True if t.get("deleted") else {"$ne": True},
    }
    sets: Doc = {f"applied.{token}": at, **changed}
    inc: Doc = {"reply_count": delta}
    if other:
        inc["other_reply_count"] = delta
    if set(changed) - {"status"}:
        # a status input changed: version-guarded writers (accept, escalate) must re-read
        inc["version"] = 1
    update: Doc = {"$set": sets, "$inc": inc}
    if delta > 0:
        update["$max"] = {"last_activity_at": at}
    return filt, outbox_ops(TOPIC, events, update), events


async def apply_reply_change(
    db: ForumDb, post: Doc, delta: int, *, owner: bool, thread: Doc | None = None
) -> bool:
    """Steps 2-4 for one reply added or deleted; False if left pending for the sync loop."""
    thread_id, token = post["thread_id"], reply_token(post["_id"], delta)
    mark, claim = (
        ("sync_add_at", "sync_add_claim") if delta > 0 else ("sync_del_at", "sync_del_claim")
    )
    at = post["created_at"] if delta > 0 else post.get("sync_del_at") or now()
    if not owner and not await _claim(db.posts, post["_id"], {mark: {"$ne": None}}, claim):
        return True  # no longer pending: its writer finished
    t = thread
    # step 4 of earlier changes of this thread, done by this update (one write fewer each)
    carried = TOKENS.take(db.threads, thread_id)
    try:
        for _ in range(MAX_RETRIES):
            if t is None:
                t = await db.threads.find_one({"_id": thread_id}, _THREAD_FIELDS)
            if t is None or token in (t.get("applied") or {}):
                break  # thread gone, or applied already (by another writer)
            filt, update, _ = plan_reply_change(t, post, delta, at)
            if carried:
                update["$unset"] = dict.fromkeys(sorted(carried), "")
            if (await db.threads.update_one(filt, update)).matched_count:
                carried = set()
                if delta > 0 and t.get("tags"):
                    await thread_tags.touch(db, thread_id, at)  # the tag lists' sort key
                break
            t = None  # a status input changed meanwhile: re-read and recompute
        else:
            log.warning("thread %s too busy; the sync loop will apply %s", thread_id, token)
            return False
    finally:
        TOKENS.defer(db.threads, thread_id, carried)  # not removed: the next one carries them
    if await _clear(db.posts, {"_id": post["_id"]}, [mark], claim, owner=owner):
        TOKENS.defer(db.threads, thread_id, {f"applied.{token}"})
    return True


#: how long a reply's token waits for the next reply of its thread to carry its removal
DEFER_SECONDS = 1.0


class TokenRemover:
    """Step 4, off the request path.

    A vote's token goes in the background, one ``$unset`` per document for all the tokens
    waiting for it (:meth:`remove`: while one removal on a hot post is in flight, the next
    ones gather). A reply's token on its thread is *deferred* (:meth:`defer`): the next reply
    change of that thread in this process takes it (:meth:`take`) and removes it in its own
    guarded update, so a hot thread pays no write of its own for it; a background task
    removes those left waiting for ``DEFER_SECONDS`` (:meth:`flush`: a quiet thread). Removing a
    token later than possible is always safe (it only has to come after its mark was cleared
    unclaimed). Tokens still waiting when the process stops stay on their documents, like
    those of a crash (harmless bytes)."""

    def __init__(self) -> None:
        self._waiting: dict[tuple[str, Any], tuple[Any, set[str]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        #: (collection, _id) → (collection, fields, monotonic time of the first)
        self._deferred: dict[tuple[str, Any], tuple[Any, set[str], float]] = {}
        self._flusher: asyncio.Task[None] | None = None

    def defer(self, coll: Any, doc_id: Any, fields: set[str]) -> None:
        if not fields:
            return
        key = (coll.full_name, doc_id)
        if key in self._deferred:
            self._deferred[key][1].update(fields)
        else:
            self._deferred[key] = (coll, set(fields), time.monotonic())
        f = self._flusher
        if f is None or f.done() or f.get_loop() is not asyncio.get_running_loop():
            self._flusher = asyncio.create_task(self._flush_later())

    async def _flush_later(self) -> None:
        try:
            while self._deferred:
                await asyncio.sleep(DEFER_SECONDS)
                self.flush(older_than=DEFER_SECONDS)
        finally:
            self._flusher = None

    def take(self, coll: Any, doc_id: Any) -> set[str]:
        """The deferred tokens of one document, for the caller's next update of it (the
        caller gives back with :meth:`defer` what it did not remove)."""
        entry = self._deferred.pop((coll.full_name, doc_id), None)
        return entry[1] if entry else set()

    def flush(self, older_than: float = 0.0) -> None:
        """Remove (in the background) the deferred tokens waiting for ``older_than`` s."""
        limit = time.monotonic() - older_than
        for key, (coll, fields, since) in list(self._deferred.items()):
            if since <= limit:
                del self._deferred[key]
                for field in fields:
                    self.remove(coll, key[1], field)

    def remove(self, coll: Any, doc_id: Any, field: str) -> None:
        key = (coll.full_name, doc_id)
        if key in self._waiting:
            self._waiting[key][1].add(field)
            return
        self._waiting[key] = (coll, {field})
        task = asyncio.create_task(self._run(key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, key: tuple[str, Any]) -> None:
        coll, fields = self._waiting[key]
        try:
            while fields:
                batch, fields = fields, set()
                self._waiting[key] = (coll, fields)
                await coll.update_one({"_id": key[1]}, {"$unset": dict.fromkeys(batch, "")})
        except Exception:
            log.warning("could not remove tokens from %s", key, exc_info=True)
        finally:
            self._waiting.pop(key, None)

    async def drain(self) -> None:
        """Remove every deferred token and wait for the removals in flight (tests;
        shutdown)."""
        self.flush()
        if self._flusher is not None:
            self._flusher.cancel()
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


TOKENS = TokenRemover()


async def _claim(coll: Any, doc_id: Any, pending: Doc, claim: str) -> bool:
    """A writer other than the change's own claims its pending mark (atomically, while the
    mark is still there) before applying it; see :func:`_clear`."""
    res = await coll.update_one({"_id": doc_id, **pending}, {"$set": {claim: now()}})
    return bool(res.matched_count)


async def _clear(coll: Any, filt: Doc, fields: list[str], claim: str, *, owner: bool) -> bool:
    """Step 3; True when the caller may remove its token (step 4).

    The owner clears its mark only if nobody claimed it: then no other writer has read it
    as pending and can still apply it, so the token can go. A claimed mark is cleared by its
    claimer, and its token stays (a writer that read the mark may still try step 2)."""
    unset = dict.fromkeys(fields, "")
    if owner:
        res = await coll.update_one({**filt, claim: None}, {"$unset": unset})
        return bool(res.matched_count)
    await coll.update_one(filt, {"$unset": {**unset, claim: ""}})
    return False


_POST_SCORE = {"score": 1, "score_seq": 1, "parent_post_id": 1, "thread_id": 1}


async def apply_vote_change(db: ForumDb, vote: Doc, *, owner: bool) -> int:
    """Steps 2-4 for one change of a standing vote; returns the post's score after it.

    ``score_seq`` counts the score's changes, so the thread's copy of an opening post's score
    is only ever replaced by a newer one (two requests finishing out of order)."""
    eid, post_id = vote["sync_event"], vote["post_id"]
    if not owner and not await _claim(db.votes, vote["_id"], {"sync_event": eid}, "sync_claim"):
        p = await db.posts.find_one({"_id": post_id}, {"score": 1})  # finished meanwhile
        return int(p["score"]) if p else 0
    p = await db.posts.find_one_and_update(
        {"_id": post_id, f"applied_votes.{eid}": {"$exists": False}},
        {
            "$inc": {"score": int(vote["sync_delta"]), "score_seq": 1},
            "$set": {f"applied_votes.{eid}": vote["sync_at"]},
        },
        return_document=ReturnDocument.AFTER,  # (no projection: FerretDB has none here)
    )
    if p is None:  # applied already by another writer
        p = await db.posts.find_one({"_id": post_id}, _POST_SCORE)
        if p is None:
            raise RuntimeError(f"vote {vote['_id']} on missing post {post_id}")
    if p.get("parent_post_id") is None:
        await db.threads.update_one(
            {"_id": p["thread_id"], "score_seq": {"$lt": p["score_seq"]}},
            {"$set": {"score": p["score"], "score_seq": p["score_seq"]}},
        )
        await thread_tags.copy_score(db, p["thread_id"], p["score"], p["score_seq"])
    if await _clear(
        db.votes,
        {"_id": vote["_id"], "sync_event": eid},
        ["sync_at", "sync_event", "sync_delta"],
        "sync_claim",
        owner=owner,
    ):
        TOKENS.remove(db.posts, post_id, f"applied_votes.{eid}")
    return int(p["score"])


#: on a removed thread until its opening post's ``deleted`` flag is set (handlers/sync.py)
OPENING_DEL_MARK = "opening_del_at"


async def finish_opening_removal(db: ForumDb, thread_id: str, post_id: str, at: Any) -> None:
    """After the thread's removal: the opening post's ``deleted`` flag, then the thread's
    pending mark goes. Both idempotent; any number of writers may run it."""
    await db.posts.update_one(
        {"_id": post_id, "deleted": False},
        {"$set": {"deleted": True, "deleted_at": at}, "$inc": {"version": 1}},
    )
    await db.threads.update_one({"_id": thread_id}, {"$unset": {OPENING_DEL_MARK: ""}})


async def sync_due(db: ForumDb, grace_seconds: float, batch: int = 100) -> int:
    """Apply every change left pending for longer than the grace period (a writer died)."""
    cutoff = now() - timedelta(seconds=grace_seconds)
    done = 0
    for p in (
        await db.posts.find({"sync_add_at": {"$lt": cutoff}}, {"outbox": 0, "body": 0})
        .limit(batch)
        .to_list(None)
    ):
        done += await apply_reply_change(db, p, +1, owner=False)
    for p in (
        await db.posts.find({"sync_del_at": {"$lt": cutoff}}, {"outbox": 0, "body": 0})
        .limit(batch)
        .to_list(None)
    ):
        if p.get("sync_add_at") is not None:  # its creation first
            await apply_reply_change(db, p, +1, owner=False)
        done += await apply_reply_change(db, p, -1, owner=False)
    for t in (
        await db.threads.find(
            {OPENING_DEL_MARK: {"$lt": cutoff}}, {"opening_post_id": 1, OPENING_DEL_MARK: 1}
        )
        .limit(batch)
        .to_list(None)
    ):  # a removed thread whose opening post's writer died before flagging it
        await finish_opening_removal(db, t["_id"], t["opening_post_id"], t[OPENING_DEL_MARK])
        done += 1
    for v in (
        await db.votes.find({"sync_at": {"$lt": cutoff}}, {"outbox": 0}).limit(batch).to_list(None)
    ):
        await apply_vote_change(db, v, owner=False)
        done += 1
    return done


async def sync_loop(db: ForumDb, grace_seconds: float, every_seconds: float) -> None:
    """Background task of every replica (cancelled at shutdown)."""
    while True:
        try:
            if n := await sync_due(db, grace_seconds):
                log.info("applied %d pending changes left by an interrupted writer", n)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("sync check failed; will retry", exc_info=True)
        await asyncio.sleep(every_seconds)
