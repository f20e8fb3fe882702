"""Threads: create, read, list, reply."""

from __future__ import annotations

from typing import Any

from communitykit.auth import Principal
from communitykit.outbox import outbox_fields
from schemas import new_event
from schemas.forum import MediaItem, PostCreated

from ..adapters.mongo import Doc, ForumDb
from ..adapters.pagination import page
from ..domain import rules
from ..domain.commands import CreateThread
from ..domain.errors import InvalidCommandError, ThreadNotFoundError
from . import tags as thread_tags
from ._common import TOPIC, new_id, now
from .views import post_view, thread_summary

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


async def create_thread(db: ForumDb, user: Principal, cmd: CreateThread) -> dict[str, str]:
    """POST /threads → ``threads`` + ``posts`` documents; emits PostCreated (opening post)."""
    cmd.check()
    if cmd.group_id is not None and await db.groups.find_one({"_id": cmd.group_id}) is None:
        raise InvalidCommandError(f"no group {cmd.group_id!r}", field="group_id")
    at = now()
    thread_id, post_id = new_id(), new_id()
    event = new_event(
        PostCreated(
            post_id=post_id,
            thread_id=thread_id,
            parent_post_id=None,
            kind=cmd.kind,
            author_id=user.user_id,
            group_id=cmd.group_id,
            title=cmd.title,
            tags=cmd.tags,
            product_id=cmd.product_id,
            rating=cmd.rating,
            media=[
                MediaItem(url=str(m.url), media_type=m.media_type, caption=m.caption)
                for m in cmd.media
            ],
            body_length=len(cmd.body),
            body=cmd.body,
        ),
        subject=thread_id,
        actor_id=user.user_id,
        time=at,
    )
    # The opening post first, then the thread that makes it visible and carries the event:
    # a crash in between leaves only an unreachable post, never a published ghost.
    await db.posts.insert_one(
        post_doc(
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
    )
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
        "status": "open",
        "accepted_post_id": None,
        "accepted_author_id": None,
        "opening_post_id": post_id,
        "score": 0,
        "score_seq": 0,
        "reply_count": 0,
        "other_reply_count": 0,
        "has_other_reply": False,
        "escalated_at": None,
        "escalation_state": None,
        "deleted": False,
        "hidden": False,
        "version": 0,
        "created_at": at,
        "last_activity_at": at,
        **outbox_fields(TOPIC, [event]),
    }
    # its tag rows before the thread: a crash in between leaves rows of no thread, skipped
    await thread_tags.add(db, thread, cmd.tags)
    await db.threads.insert_one(thread)
    return {"thread_id": thread_id, "post_id": post_id}


async def get_thread(db: ForumDb, thread_id: str, viewer: Principal | None) -> dict[str, Any]:
    """GET /threads/{id}: the thread and its visible posts (hidden ones for moderators)."""
    moderator = viewer is not None and rules.can_moderate(viewer.roles)
    t = await db.threads.find_one({"_id": thread_id, "deleted": {"$ne": True}}, {"outbox": 0})
    if t is None or (t.get("hidden") and not moderator):
        raise ThreadNotFoundError(f"no thread {thread_id!r}")
    query: Doc = {"thread_id": thread_id, "deleted": False}
    if not moderator:
        query["hidden"] = False
    posts = (
        await db.posts.find(query, {"outbox": 0})
        .sort([("created_at", 1), ("_id", 1)])
        .to_list(None)
    )
    out = thread_summary(t)
    opening = next((p for p in posts if p["_id"] == t.get("opening_post_id")), None)
    if opening is not None:  # the post is the authority on its title and tags (PATCH)
        out["title"] = opening.get("title", out["title"])
        out["tags"] = opening.get("tags", out["tags"])
    out["posts"] = [post_view(p) for p in posts]
    return out


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
) -> dict[str, Any]:
    """GET /threads: keyset-paginated; equality on the filters + a range on the sort key,
    answered by the (filter, sort, _id) index (adapters/mongo.py). Deleted and hidden
    threads (rare) are skipped after the index read rather than filtered with ``$ne``."""
    query: Doc = {}
    for field, value in (("kind", kind), ("group_id", group_id), ("product_id", product_id)):
        if value is not None:
            query[field] = value
    if status is not None:
        query["status"] = rules.STATUS_FILTERS[status]
    if tag is None:
        docs, nxt = await page(
            db.threads,
            query,
            sort=SORTS[sort],
            limit=limit,
            cursor=cursor,
            projection=LIST_PROJECTION,
            keep=listed,
        )
    else:  # the tag's rows by index, then their threads by _id; other filters on those

        async def threads_of(rows: list[Doc]) -> list[Doc | None]:
            ids = [r["thread_id"] for r in rows]  # one _id $in lookup for the page
            found = await db.threads.find({"_id": {"$in": ids}}, LIST_PROJECTION).to_list(None)
            by_id = {t["_id"]: t for t in found}
            return [by_id.get(i) for i in ids]

        docs, nxt = await page(
            db.thread_tags,
            {"tag": tag.strip().lower()},
            sort=SORTS[sort],
            limit=limit,
            cursor=cursor,
            resolve=threads_of,
            keep=lambda t: listed(t) and all(t.get(k) == v for k, v in query.items()),
        )
    return {"items": [thread_summary(t) for t in docs], "next_cursor": nxt}


def listed(t: Doc) -> bool:
    return not t.get("deleted") and not t.get("hidden")
