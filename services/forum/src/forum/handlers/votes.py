"""Votes on posts: ONE guarded upsert of the (post, voter) vote with its VoteCast."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from communitykit.auth import Principal

from ..adapters import repository as repos
from ..adapters.mongo import Doc, ForumDb, is_duplicate_key
from ..domain import rules
from ..domain.commands import CastVote
from ..domain.vote import Vote, vote_id
from ._common import now

#: what a vote needs of its post (not the body): its rules and VoteCast's target fields
POST_FIELDS = {
    "thread_id": 1,
    "parent_post_id": 1,
    "kind": 1,
    "author_id": 1,
    "hidden": 1,
    "deleted": 1,
}


async def cast_vote(db: ForumDb, user: Principal, post_id: str, cmd: CastVote) -> dict[str, int]:
    """PUT /posts/{id}/vote → the ``votes`` document of (post, voter): its standing value and
    VoteCast {value, previous_value} in its outbox, in ONE write (communitykit.repository).

    Store round trips, in order: the post (without its body), the post's projected score
    (``post_stats``) and, for a down-vote, the voter's level, read at once (in parallel);
    then the write. A voter's first vote on a post — the common case — is tried as a plain
    insert of the new vote document: the unique ``_id`` (post, voter) decides it, so no read
    of a vote that does not exist is needed. If the voter has voted before (the insert hits
    the duplicate ``_id``), the repository's load → command → version-guarded update runs,
    with its retry loop; the events of the refused insert were never stored.

    The answer is the score as this voter sees it: the projected score with this voter's
    contribution replaced by their standing value (``post_stats.recent`` holds the tags of
    the last votes the projection applied; the vote document its last changes). So the
    voter never sees their own vote missing or counted twice; other voters' changes show
    once projected (a batch later). The projected score may be read before the write: this
    write's change is not yet published, so it cannot be among ``recent`` either way."""
    downvote = cmd.value == -1
    post, stats, level = await asyncio.gather(
        repos.posts(db).get(post_id, POST_FIELDS),
        db.post_stats.find_one({"_id": post_id}, {"score": 1, "recent": 1}),
        db.level_of(user.user_id) if downvote else _zero(),
    )
    post.check_votable(user)
    if downvote:
        rules.check_downvote(cmd.value, rules.effective_level(level, user.roles))
    at = now()

    def command(v: Vote) -> Any:
        return v.cast(cmd.value, target_kind=post.kind, target_author_id=post.author_id, at=at)

    def fresh() -> Vote:
        return Vote(post_id=post_id, thread_id=post.thread_id, voter_id=user.user_id)

    repo = repos.votes(db)
    vid = vote_id(post_id, user.user_id)
    vote = fresh()
    try:  # a first vote: one insert, its unique _id decides a concurrent first vote
        await repo.add(vid, vote, command(vote))
    except Exception as e:
        if not is_duplicate_key(e):
            raise
        # the voter has a vote: the kit's guarded update (and its one retry loop)
        vote = (await repo.change(vid, command, create=fresh)).aggregate
    return {"score": score_for_voter(stats, vote)}


async def _zero() -> int:
    return 0


#: a change older than this is taken as projected even if its tag has left ``recent`` (the
#: projection keeps the last RECENT tags per post; it runs a batch behind, not minutes)
PENDING_WINDOW = timedelta(seconds=30)


def score_for_voter(stats: Doc | None, vote: Vote) -> int:
    """The projected score (``post_stats``: ``score``, ``recent``) with this voter's
    contribution as it stands now: projected score - this voter's value as projected + their
    value now (Vote.projected_value)."""
    score = int(stats["score"]) if stats else 0
    applied = set((stats or {}).get("recent") or ())
    return score - vote.projected_value(applied, now() - PENDING_WINDOW) + vote.value
