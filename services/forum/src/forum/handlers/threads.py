"""Threads: create, read, list."""

from __future__ import annotations

from communitykit.auth import Principal
from communitykit.idempotency import (
    Created,
    Idempotency,
    insert_ignoring_duplicate,
    replay,
)
from communitykit.pagination import page

from ..adapters import repository as repos
from ..adapters.documents import post_doc
from ..adapters.mongo import Doc, ForumDb
from ..domain import rules
from ..domain.commands import CreateThread
from ..domain.errors import ThreadNotFoundError
from ..domain.thread import Thread
from ..views import (
    ThreadDetail,
    ThreadPage,
    escalation_view,
    post_view,
    thread_summary,
)
from . import groups, media_refs, reviews
from ._common import new_id, now

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
        "other_reply_count",
    ],
    1,
)


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
    await media_refs.require_usable(db, user, cmd.media_ids)
    at = now()
    if cmd.kind == "review":
        assert cmd.product_id is not None  # CreateThread's validator
        await reviews.claim(db, cmd.product_id, user.user_id, thread_id, at)
    opened, events = Thread.open(thread_id, post_id, user, cmd, at)
    # The opening post first, then the thread that makes it visible and carries the event:
    # a crash in between leaves only an unreachable post, never a published ghost. Under an
    # Idempotency-Key the post carries the record too: of two requests with the same key and
    # different bodies, the one whose post is stored wins, the other is a 422 here. Its list
    # item, tag rows and counters follow from PostCreated (projections/threads.py).
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
        **({"media_ids": cmd.media_ids} if cmd.media_ids else {}),
    )
    if req is None:
        await db.posts.insert_one(post)
    elif not await insert_ignoring_duplicate(db.posts, {**post, **req.record(201, response)}):
        first = await db.posts.find_one({"_id": post_id}, {"idem": 1})
        req.answer(first or {})  # 422 unless it is this request's own post
    return await repos.threads(db).add(thread_id, opened, events, idem=req, body=response)


async def get_thread(db: ForumDb, thread_id: str, viewer: Principal | None) -> ThreadDetail:
    """GET /threads/{id}: the thread aggregate (accepted answer, escalation: as written),
    its list item (reply count, last activity, score: as projected, a batch behind at
    most), its visible posts with their projected scores, each with its author's trust level
    (``levels``). Hidden posts: moderators see them all, an author sees their own (a hidden
    opening post: their thread), both with the ``hidden_reason``; anyone else does not see
    them (a hidden thread is a 404)."""
    moderator = viewer is not None and rules.can_moderate(viewer.roles)
    me = viewer.user_id if viewer is not None else None
    found = await repos.threads(db).find(thread_id)
    if found is None:
        raise ThreadNotFoundError(f"no thread {thread_id!r}")
    thread = found[0]
    query: Doc = {"thread_id": thread_id, "deleted": False}
    posts = (
        await db.posts.find(query, {"outbox": 0, "idem": 0})
        .sort([("created_at", 1), ("_id", 1)])
        .to_list(None)
    )
    opening = next((p for p in posts if p["_id"] == thread.opening_post_id), None)
    if opening is None or (opening.get("hidden") and not moderator and thread.author_id != me):
        raise ThreadNotFoundError(f"no thread {thread_id!r}")
    posts = [p for p in posts if moderator or not p.get("hidden") or p["author_id"] == me]
    # the opening post first, even when a reply shares its millisecond (stable sort)
    posts.sort(key=lambda p: p["_id"] != thread.opening_post_id)
    item = await db.thread_list.find_one({"_id": thread_id}, LIST_PROJECTION) or {}
    scores = {
        s["_id"]: int(s["score"])
        for s in await db.post_stats.find({"thread_id": thread_id}, {"score": 1}).to_list(None)
    }
    levels = await db.levels_of({p["author_id"] for p in posts})
    # the facts this service wrote (accepted, escalation) as written; whether others
    # replied as projected (the aggregate learns it from the projection too)
    others = int(item["other_reply_count"]) > 0 if "other_reply_count" in item else None
    status = rules.thread_status(
        has_other_reply=thread.has_other_reply if others is None else others,
        accepted=thread.accepted_post_id is not None,
        escalation_open=thread.escalation is not None and thread.escalation.pending,
    )
    summary = thread_summary(
        {
            "_id": thread.id,
            "kind": thread.kind,
            "author_id": thread.author_id,
            "group_id": thread.group_id,
            "product_id": thread.product_id,
            "media": item.get("media", []),
            "rating": item.get("rating"),
            "score": scores.get(thread.opening_post_id, 0),
            "reply_count": item.get("reply_count", 0),
            "created_at": thread.created_at,
            "last_activity_at": item.get("last_activity_at", thread.created_at),
            # the post is the authority on its title and tags (PATCH)
            "title": opening.get("title") or thread.title,
            "tags": opening.get("tags") or [],
            "status": status,
            "accepted_post_id": thread.accepted_post_id,
        }
    ).model_dump()
    return ThreadDetail(
        **summary,
        opening_post_id=thread.opening_post_id,
        escalation=escalation_view(thread.escalation),
        posts=[
            post_view(
                {**p, "score": scores.get(p["_id"], 0)},
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
    """GET /threads: the ``thread_list`` read model (projections/threads.py), keyset-
    paginated; equality on the filters + a range on the sort key, answered by its (filter,
    sort, _id) indexes (adapters/mongo.py). Deleted and hidden threads (rare) are skipped
    after the index read rather than filtered with ``$ne``. The cursor is bound to the sort
    and filters."""
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
            db.thread_list,
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
            found = await db.thread_list.find({"_id": {"$in": ids}}, LIST_PROJECTION).to_list(None)
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
    """A list item whose opening PostCreated was projected, neither removed nor hidden."""
    return "created_at" in t and not t.get("deleted") and not t.get("hidden")
