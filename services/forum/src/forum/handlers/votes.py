"""Votes on posts: the standing vote per (post, voter) and its VoteCast event."""

from __future__ import annotations

from pymongo.errors import DuplicateKeyError

from communitykit.auth import Principal
from communitykit.outbox import outbox_fields, outbox_ops
from schemas import new_event
from schemas.forum import VoteCast

from ..adapters.mongo import Doc, ForumDb
from ..domain import rules
from ..domain.commands import CastVote
from ..domain.errors import ConflictError, NotAllowedError
from ._common import MAX_RETRIES, TOPIC, live_post


async def cast_vote(db: ForumDb, user: Principal, post_id: str, cmd: CastVote) -> dict[str, int]:
    """PUT /posts/{id}/vote → the ``votes`` document (standing vote) and its VoteCast event."""
    post = await live_post(db, post_id)
    if post.get("hidden"):
        raise NotAllowedError("this post is hidden and cannot be voted on")
    if post["author_id"] == user.user_id:
        raise NotAllowedError("you cannot vote on your own post")
    if cmd.value == -1:
        rules.check_downvote(
            cmd.value, rules.effective_level(await db.level_of(user.user_id), user.roles)
        )
    vote_id = f"{post_id}:{user.user_id}"
    for _ in range(MAX_RETRIES):  # optimistic concurrency on the vote document's version
        current = await db.votes.find_one({"_id": vote_id})
        previous = int(current["value"]) if current else 0
        if previous == cmd.value:
            break  # PUT is idempotent: nothing changed, nothing to publish
        event = new_event(
            VoteCast(
                target_id=post_id,
                thread_id=post["thread_id"],
                target_kind=post["kind"],
                target_author_id=post["author_id"],
                voter_id=user.user_id,
                value=cmd.value,
                previous_value=previous,  # type: ignore[arg-type]
            ),
            subject=post["thread_id"],
            actor_id=user.user_id,
        )
        fields: Doc = {"value": cmd.value, "updated_at": event.time}
        if current is None:
            try:
                await db.votes.insert_one(
                    {
                        "_id": vote_id,
                        "post_id": post_id,
                        "thread_id": post["thread_id"],
                        "voter_id": user.user_id,
                        "version": 1,
                        **fields,
                        **outbox_fields(TOPIC, [event]),
                    }
                )
                break
            except DuplicateKeyError:
                continue  # a concurrent first vote by the same user: re-read
        update = outbox_ops(TOPIC, [event], {"$set": fields, "$inc": {"version": 1}})
        res = await db.votes.update_one({"_id": vote_id, "version": current["version"]}, update)
        if res.matched_count:
            break
    else:
        raise ConflictError("too many concurrent votes; try again")
    score = await db.post_score(post_id)
    await db.posts.update_one({"_id": post_id}, {"$set": {"score": score}})
    if post["parent_post_id"] is None:
        await db.threads.update_one({"_id": post["thread_id"]}, {"$set": {"score": score}})
    return {"score": score}
