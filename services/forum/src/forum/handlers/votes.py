"""Votes on posts: the standing vote per (post, voter), its VoteCast event and the score."""

from __future__ import annotations

from pymongo.errors import DuplicateKeyError

from communitykit.auth import Principal
from communitykit.outbox import outbox_fields, outbox_ops
from schemas import new_event
from schemas.forum import VoteCast

from ..adapters.mongo import Doc, ForumDb
from ..domain import rules
from ..domain.commands import CastVote
from ..domain.errors import ConflictError
from ..domain.post import Post
from ._common import MAX_RETRIES, TOPIC, live_post
from .sync import apply_vote_change


async def cast_vote(db: ForumDb, user: Principal, post_id: str, cmd: CastVote) -> dict[str, int]:
    """PUT /posts/{id}/vote → the ``votes`` document (standing vote, VoteCast in its outbox,
    the change marked pending), then the post's ``score`` by an atomic ``$inc`` of
    ``value - previous`` applied exactly once (handlers/sync.py), and the thread's copy of an
    opening post's score."""
    post = await live_post(db, post_id)
    Post.from_doc(post).check_votable(user)
    if cmd.value == -1:
        rules.check_downvote(
            cmd.value, rules.effective_level(await db.level_of(user.user_id), user.roles)
        )
    vote_id = f"{post_id}:{user.user_id}"
    for _ in range(MAX_RETRIES):  # optimistic concurrency on this voter's own vote document
        current = await db.votes.find_one({"_id": vote_id}, {"outbox": 0})
        if current is not None and current.get("sync_event"):
            # this voter's previous change is not applied yet (a concurrent request, or one
            # that died): finish it first, so each change's delta is taken from the last one
            await apply_vote_change(db, current, owner=False)
            continue
        previous = int(current["value"]) if current else 0
        if previous == cmd.value:  # PUT is idempotent: nothing changed, nothing to publish
            p = await db.posts.find_one({"_id": post_id}, {"score": 1})
            return {"score": int(p["score"]) if p else 0}
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
        fields: Doc = {
            "value": cmd.value,
            "updated_at": event.time,
            # pending effect on the post's score (sync.py): applied once, then unset
            "sync_at": event.time,
            "sync_event": event.id,
            "sync_delta": cmd.value - previous,
        }
        if current is None:
            vote: Doc = {
                "_id": vote_id,
                "post_id": post_id,
                "thread_id": post["thread_id"],
                "voter_id": user.user_id,
                "version": 1,
                **fields,
            }
            try:
                await db.votes.insert_one({**vote, **outbox_fields(TOPIC, [event])})
            except DuplicateKeyError:
                continue  # a concurrent first vote by the same user: re-read
        else:
            update = outbox_ops(TOPIC, [event], {"$set": fields, "$inc": {"version": 1}})
            res = await db.votes.update_one(
                {"_id": vote_id, "version": current["version"], "sync_event": None}, update
            )
            if not res.matched_count:
                continue
            vote = {**current, **fields}
        return {"score": await apply_vote_change(db, vote, owner=True)}
    raise ConflictError("too many concurrent votes; try again")
