"""Votes on posts: ONE guarded upsert of the (post, voter) vote with its VoteCast."""

from __future__ import annotations

from datetime import timedelta

from communitykit.auth import Principal

from ..adapters import repository as repos
from ..adapters.mongo import ForumDb
from ..domain import rules
from ..domain.commands import CastVote
from ..domain.vote import Vote, vote_id
from ._common import now


async def cast_vote(db: ForumDb, user: Principal, post_id: str, cmd: CastVote) -> dict[str, int]:
    """PUT /posts/{id}/vote → the ``votes`` document of (post, voter): its standing value and
    VoteCast {value, previous_value} in its outbox, in ONE version-guarded upsert
    (communitykit.repository ``create=``: the unique ``_id`` decides a voter's concurrent
    first votes). The post's score is the thread projection's (``post_stats``).

    The answer is the score as this voter sees it: the projected score with this voter's
    contribution replaced by their standing value (``post_stats.recent`` holds the tags of
    the last votes the projection applied; the vote document its last changes). So the
    voter never sees their own vote missing or counted twice; other voters' changes show
    once projected (a batch later)."""
    post = await repos.posts(db).get(post_id)
    post.check_votable(user)
    if cmd.value == -1:
        rules.check_downvote(
            cmd.value, rules.effective_level(await db.level_of(user.user_id), user.roles)
        )
    at = now()
    saved = await repos.votes(db).change(
        vote_id(post_id, user.user_id),
        lambda v: v.cast(cmd.value, target_kind=post.kind, target_author_id=post.author_id, at=at),
        create=lambda: Vote(post_id=post_id, thread_id=post.thread_id, voter_id=user.user_id),
    )
    return {"score": await score_for_voter(db, saved.aggregate)}


#: a change older than this is taken as projected even if its tag has left ``recent`` (the
#: projection keeps the last RECENT tags per post; it runs a batch behind, not minutes)
PENDING_WINDOW = timedelta(seconds=30)


async def score_for_voter(db: ForumDb, vote: Vote) -> int:
    """The projected score with this voter's contribution as it stands now: projected
    score - this voter's value as projected + their value now (Vote.projected_value)."""
    stats = await db.post_stats.find_one({"_id": vote.post_id}, {"score": 1, "recent": 1})
    score = int(stats["score"]) if stats else 0
    applied = set((stats or {}).get("recent") or ())
    return score - vote.projected_value(applied, now() - PENDING_WINDOW) + vote.value
