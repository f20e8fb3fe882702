"""Threads: create, read, list."""

from __future__ import annotations

from typing import Any

from communitykit.auth import Principal
from communitykit.idempotency import (
    Created,
    Idempotency,
    insert_ignoring_duplicate,
    insert_once,
    replay,
)
from communitykit.outbox import outbox_fields
from communitykit.pagination import page

from ..adapters.mongo import Doc, ForumDb
from ..domain import rules
from ..domain.commands import CreateThread
from ..domain.errors import ThreadNotFoundError
from ..domain.thread import Thread, escalation_of
from . import groups, reviews
from . import tags as thread_tags
from ._common import TOPIC, new_id, now
from .views import (
    ThreadDetail,
    ThreadPage,
    escalation_view,
    post_view,
    thread_summary,
)

SORTS = {"new": "created_at", "active": "last_activity_at", "top": "score"}

#: what a list item needs (thread_summary) and what decides whether it is listed
LIST_PROJECTION = dict.fromkeys(
    [
        "kind",
        "title",
        "author_id",
        "group_id",
        "tags",
        "product_id",
        "rating",
        "media",
        "status",
        "accepted_post_id",
        "score",
        "reply_count",
        "created_at",
        "last_activity_at",
        "deleted",
        "hidden",
    ],
    1,
)


def post_doc(
    post_id: str,
    thread_id: str,
    parent: str | None,
    kind: str,
    author: str,
    body: str,
    at: Any,
    **extra: Any,
) -> Doc:
    return {
        "_id": post_id,
        "thread_id": thread_id,
        "parent_post_id": parent,
        "kind": kind,
        "author_id": author,
        "body": body,
        "score": 0,
        "score_seq": 0,
        "hidden": False,
        "deleted": False,
        "flaggers": [],
        "version": 0,
        "created_at": at,
        "edited_at": None,
        **extra,
    }


async def create_thread(
    db: ForumDb, user: Principal, cmd: CreateThread, key: str | None = None
) -> Created:
    """POST /threads → ``threads`` + ``posts`` documents; emits PostCreated (opening post).

    ``key`` (Idempotency-Key, communitykit.idempotency): the ids derive from it, so a retry
    writes the same documents and gets the first response; the thread, the insert that makes
    the creation visible, carries the record. A review first claims its (product, user)
    document: one review per user and product (reviews.py)."""
    req = Idempotency.of("forum.threads", user.user_id, key, cmd)
    if (done := await replay(db.threads, req)) is not None:
        return done
    thread_id = req.id() if req else new_id()
    post_id = req.id("post") if req else new_id()
    response = {"thread_id": thread_id, "post_id": post_id}
    if cmd.group_id is not None:  # posting into a group needs membership (not archived)
        await groups.require_member(db, cmd.group_id, user.user_id)
    at = now()
    if cmd.kind == "review":
        assert cmd.product_id is not None  # CreateThread's validator
        await reviews.claim(db, cmd.product_id, user.user_id, thread_id, at)
    opened, events = Thread.open(thread_id, post_id, user, cmd, at)
    # The opening post first, then the thread that makes it visible and carries the event:
    # a crash in between leaves only an unreachable post, never a published ghost. Under an
    # Idempotency-Key the post carries the record too: of two requests with the same key and
    # different bodies, the one whose post is stored wins, the other is a 422 here.
    post = post_doc(
        post_id,
        thread_id,
        None,
        cmd.kind,
        user.user_id,
        cmd.body,
        at,
        title=cmd.title,
        tags=cmd.tags,
    )
    if req is None:
        await db.posts.insert_one(post)
    elif not await insert_ignoring_duplicate(db.posts, {**post, **req.record(201, response)}):
        first = await db.posts.find_one({"_id": post_id}, {"idem": 1})
        req.answer(first or {})  # 422 unless it is this request's own post
    thread: Doc = {
        "_id": thread_id,
        "kind": cmd.kind,
        "title": cmd.title,
        "author_id": user.user_id,
        "group_id": cmd.group_id,
        "tags": cmd.tags,
        "product_id": cmd.product_id,
        "rating": cmd.rating,
        "media": [m.model_dump(mode="json") for m in cmd.media],
        "opening_post_id": post_id,
        "score": 0,
        "score_seq": 0,
        "reply_count": 0,
        "other_reply_count": 0,
        **opened.fields(),  # status, accepted answer, escalation: the domain's initial state
        "hidden": False,
        "version": opened.version,
        "created_at": at,
        "last_activity_at": at,
        **outbox_fields(TOPIC, events),
    }
    # its tag rows before the thread: a crash in between leaves rows of no thread, skipped
    await thread_tags.add(db, thread, cmd.tags)
    return await insert_once(db.threads, req, thread, status=201, body=response)


async def get_thread(db: ForumDb, thread_id: str, viewer: Principal | None) -> ThreadDetail:
    """GET /threads/{id}: the thread, its escalation and its visible posts, each with its
    author's trust level (``levels``, from reputation.events). Hidden posts: moderators see
    them all, an author sees their own (a hidden opening post: their thread), both with the
    ``hidden_reason``; anyone else does not see them (a hidden thread is a 404)."""
    moderator = viewer is not None and rules.can_moderate(viewer.roles)
    me = viewer.user_id if viewer is not None else None
    t = await db.threads.find_one(
        {"_id": thread_id, "deleted": {"$ne": True}}, {"outbox": 0, "applied": 0}
    )
    if t is None or (t.get("hidden") and not moderator and t.get("author_id") != me):
        raise ThreadNotFoundError(f"no thread {thread_id!r}")
    query: Doc = {"thread_id": thread_id, "deleted": False}
    if me and not moderator:
        query["$or"] = [{"hidden": False}, {"author_id": me}]
    elif not moderator:
        query["hidden"] = False
    posts = (
        await db.posts.find(query, {"outbox": 0, "applied_votes": 0})
        .sort([("created_at", 1), ("_id", 1)])
        .to_list(None)
    )
    levels = await db.levels_of({p["author_id"] for p in posts})
    summary = thread_summary(t).model_dump()
    opening = next((p for p in posts if p["_id"] == t.get("opening_post_id")), None)
    if opening is not None:  # the post is the authority on its title and tags (PATCH)
        summary["title"] = opening.get("title", summary["title"])
        summary["tags"] = opening.get("tags", summary["tags"])
    return ThreadDetail(
        **summary,
        opening_post_id=t["opening_post_id"],
        escalation=escalation_view(escalation_of(t)),
        posts=[
            post_view(
                p,
                levels.get(p["author_id"], 0),
                with_reason=moderator or p["author_id"] == me,
            )
            for p in posts
        ],
    )


#: GET /threads?status= → the equalities it means (SPEC 3): "unanswered" is about questions
STATUS_FILTERS: dict[str, Doc] = {
    "unanswered": {"kind": "question", "status": "open"},
    "open": {"status": "open"},
    "answered": {"status": "answered"},
    "solved": {"status": "solved"},
    "escalated": {"status": "escalated"},
}


async def list_threads(
    db: ForumDb,
    *,
    kind: str | None,
    group_id: str | None,
    tag: str | None,
    product_id: str | None,
    status: str | None,
    sort: str,
    limit: int,
    cursor: str | None,
) -> ThreadPage:
    """GET /threads: keyset-paginated; equality on the filters + a range on the sort key,
    answered by the (filter, sort, _id) indexes (adapters/mongo.py). Deleted and hidden
    threads (rare) are skipped after the index read rather than filtered with ``$ne``. The
    cursor is bound to the sort and filters."""
    query: Doc = {}
    for field, value in (("kind", kind), ("group_id", group_id), ("product_id", product_id)):
        if value is not None:
            query[field] = value
    if status is not None:
        for field, value in STATUS_FILTERS[status].items():
            if query.setdefault(field, value) != value:  # e.g. unanswered discussions
                return ThreadPage(items=[], next_cursor=None)
    tag = tag.strip().lower() if tag is not None else None
    scope = f"threads|{sort}|{sorted(query.items())!r}|{tag}"
    if tag is None:
        docs, nxt = await page(
            db.threads,
            query,
            sort=SORTS[sort],
            limit=limit,
            cursor=cursor,
            projection=LIST_PROJECTION,
            keep=listed,
            scope=scope,
        )
    else:  # the tag's rows by index, then their threads by _id; other filters on those

        async def threads_of(rows: list[Doc]) -> list[Doc | None]:
            ids = [r["thread_id"] for r in rows]  # one _id $in lookup for the page
            found = await db.threads.find({"_id": {"$in": ids}}, LIST_PROJECTION).to_list(None)
            by_id = {t["_id"]: t for t in found}
            return [by_id.get(i) for i in ids]

        docs, nxt = await page(
            db.thread_tags,
            {"tag": tag},
            sort=SORTS[sort],
            limit=limit,
            cursor=cursor,
            resolve=threads_of,
            keep=lambda t: listed(t) and all(t.get(k) == v for k, v in query.items()),
            scope=scope,
        )
    return ThreadPage(items=[thread_summary(t) for t in docs], next_cursor=nxt)


def listed(t: Doc) -> bool:
    return not t.get("deleted") and not t.get("hidden")
