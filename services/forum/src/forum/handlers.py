"""One function per command. Each write stores its events in the outbox of the document it
changes, in the same single-document update (communitykit.outbox); the relay publishes them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from communitykit.auth import Principal
from communitykit.outbox import outbox_fields, outbox_ops
from schemas import new_event, topics
from schemas.forum import MediaItem, PostCreated, VoteCast

from .adapters.mongo import Doc, ForumDb
from .domain.commands import CastVote, CreateThread
from .domain.errors import NotAllowedError, PostNotFoundError, ThreadNotFoundError

TOPIC = topics.FORUM_EVENTS


def _now() -> datetime:
    return datetime.now(UTC)


def _id() -> str:
    return uuid.uuid4().hex


async def create_thread(db: ForumDb, user: Principal, cmd: CreateThread) -> dict[str, str]:
    """POST /threads → ``threads`` + ``posts`` documents; emits PostCreated (opening post)."""
    cmd.check()
    now = _now()
    thread_id, post_id = _id(), _id()
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
            media=[MediaItem(url=str(m.url), media_type=m.media_type, caption=m.caption)
                   for m in cmd.media],
            body_length=len(cmd.body),
        ),
        subject=thread_id,
        actor_id=user.user_id,
        time=now,
    )
    # The opening post first, then the thread that makes it visible and carries the event:
    # a crash in between leaves only an unreachable post, never a published ghost.
    await db.posts.insert_one({
        "_id": post_id, "thread_id": thread_id, "parent_post_id": None, "kind": cmd.kind,
        "author_id": user.user_id, "body": cmd.body, "score": 0, "hidden": False,
        "deleted": False, "created_at": now, "edited_at": None,
    })
    await db.threads.insert_one({
        "_id": thread_id, "kind": cmd.kind, "title": cmd.title, "author_id": user.user_id,
        "group_id": cmd.group_id, "tags": cmd.tags, "product_id": cmd.product_id,
        "rating": cmd.rating, "media": [m.model_dump(mode="json") for m in cmd.media],
        "status": "open", "accepted_post_id": None, "opening_post_id": post_id,
        "score": 0, "reply_count": 0, "created_at": now, "last_activity_at": now,
        **outbox_fields(TOPIC, [event]),
    })
    return {"thread_id": thread_id, "post_id": post_id}


async def cast_vote(db: ForumDb, user: Principal, post_id: str, cmd: CastVote) -> dict[str, int]:
    """PUT /posts/{id}/vote → the ``votes`` document (standing vote) and its VoteCast event."""
    post = await db.posts.find_one({"_id": post_id, "deleted": False})
    if post is None:
        raise PostNotFoundError(f"no post {post_id!r}")
    if post["author_id"] == user.user_id:
        raise NotAllowedError("you cannot vote on your own post")
    if cmd.value == -1 and not user.has("moderator", "staff"):
        if await db.level_of(user.user_id) < 1:
            raise NotAllowedError("down-voting needs trust level 1 (basic)")
    vote_id = f"{post_id}:{user.user_id}"
    while True:  # optimistic concurrency on the vote document's version
        current = await db.votes.find_one({"_id": vote_id})
        previous = int(current["value"]) if current else 0
        if previous == cmd.value:
            break  # PUT is idempotent: nothing changed, nothing to publish
        event = new_event(
            VoteCast(
                target_id=post_id, thread_id=post["thread_id"], target_kind=post["kind"],
                target_author_id=post["author_id"], voter_id=user.user_id,
                value=cmd.value, previous_value=previous,  # type: ignore[arg-type]
            ),
            subject=post["thread_id"],
            actor_id=user.user_id,
        )
        fields: Doc = {"value": cmd.value, "updated_at": event.time}
        if current is None:
            try:
                await db.votes.insert_one({
                    "_id": vote_id, "post_id": post_id, "thread_id": post["thread_id"],
                    "voter_id": user.user_id, "version": 1, **fields,
                    **outbox_fields(TOPIC, [event]),
                })
                break
            except DuplicateKeyError:
                continue  # a concurrent first vote by the same user: re-read
        update = outbox_ops(TOPIC, [event], {"$set": fields, "$inc": {"version": 1}})
        res = await db.votes.update_one({"_id": vote_id, "version": current["version"]}, update)
        if res.matched_count:
            break
    score = await db.post_score(post_id)
    await db.posts.update_one({"_id": post_id}, {"$set": {"score": score}})
    if post["parent_post_id"] is None:
        await db.threads.update_one({"_id": post["thread_id"]}, {"$set": {"score": score}})
    return {"score": score}


def _post_view(p: Doc) -> dict[str, Any]:
    return {
        "post_id": p["_id"], "parent_post_id": p.get("parent_post_id"),
        "author_id": p["author_id"], "body": p["body"], "score": p.get("score", 0),
        "hidden": p.get("hidden", False), "created_at": p["created_at"],
        "edited_at": p.get("edited_at"),
    }


async def get_thread(db: ForumDb, thread_id: str, viewer: Principal | None) -> dict[str, Any]:
    """GET /threads/{id}: the thread and its visible posts."""
    t = await db.threads.find_one({"_id": thread_id}, {"outbox": 0})
    if t is None:
        raise ThreadNotFoundError(f"no thread {thread_id!r}")
    moderator = viewer is not None and viewer.has("moderator", "staff")
    query: Doc = {"thread_id": thread_id, "deleted": False}
    if not moderator:
        query["hidden"] = False
    posts = await db.posts.find(query).sort([("created_at", 1), ("_id", 1)]).to_list(None)
    return {
        "thread_id": t["_id"], "kind": t["kind"], "title": t["title"],
        "author_id": t["author_id"], "group_id": t.get("group_id"), "tags": t.get("tags", []),
        "product_id": t.get("product_id"), "rating": t.get("rating"),
        "media": t.get("media", []), "status": t.get("status", "open"),
        "accepted_post_id": t.get("accepted_post_id"), "score": t.get("score", 0),
        "created_at": t["created_at"], "posts": [_post_view(p) for p in posts],
    }
