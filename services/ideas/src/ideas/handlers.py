"""One function per command or query: load → the ``Idea``'s command → save.

Every write is ``Repository.change`` / ``Repository.add`` of communitykit (adapters/
repository.py): one guarded single-document update with the events in that document's outbox,
a lost race re-run by the kit (its ``WriteConflictError`` is the only "try again" answer).
Which events each command publishes is in the README.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from communitykit.auth import Principal
from communitykit.idempotency import Created as Done
from communitykit.idempotency import Idempotency, replay
from communitykit.pagination import page
from communitykit.repository import Repository

from .adapters.mongo import SORT_FIELDS, Doc, IdeasDb
from .adapters.repository import LIVE, NO_VOTERS, one_voter, votes_of
from .domain.commands import AddComment, CastVote, ChangeStatus, MergeIdeas, SubmitIdea
from .domain.errors import IdeaNotFoundError, MergeConflictError
from .domain.model import Idea, IdeaComment, require_staff, voter_key
from .views import (
    CommentPage,
    IdeaPage,
    IdeaView,
    Merged,
    StatusChanged,
    Votes,
    comment,
    full,
    history,
    summary,
)

Ideas = Repository[Idea]
Comments = Repository[IdeaComment]


def now() -> datetime:
    return datetime.now(UTC)


async def submit_idea(ideas: Ideas, user: Principal, cmd: SubmitIdea, key: str | None) -> Done:
    """POST /ideas → a new ``ideas`` document with IdeaSubmitted in its outbox. With an
    ``Idempotency-Key`` the idea's id derives from it: a retry answers as the first did."""
    idem = Idempotency.of("ideas/submit", user.user_id, key, cmd)
    if (done := await replay(ideas.coll, idem)) is not None:
        return done
    idea, events = Idea.submit(cmd, user.user_id, now(), idea_id=idem.id() if idem else None)
    return await ideas.add(idea.idea_id, idea, events, idem=idem, body={"idea_id": idea.idea_id})


async def cast_vote(
    db: IdeasDb, ideas: Ideas, user: Principal, idea_id: str, cmd: CastVote
) -> Votes:
    """PUT /ideas/{id}/vote → the voter's ``voters`` entry, ``votes`` and the trending
    bucket, with VoteCast in the outbox: ONE update guarded by that entry (and the idea not
    being merged), so concurrent voters of one idea never conflict. An unchanged vote writes
    and publishes nothing. The answer is the stored count right after the write."""
    saved = await ideas.change(
        idea_id,
        lambda idea: idea.vote(user.user_id, cmd.value, now()),
        projection=one_voter(voter_key(user.user_id)),
        concurrent=True,
        guard=LIVE,
    )
    if not saved.events:
        return Votes(votes=saved.aggregate.votes)
    return Votes(votes=await votes_of(db, idea_id))


async def change_status(
    ideas: Ideas, user: Principal, idea_id: str, cmd: ChangeStatus
) -> StatusChanged:
    """PUT /ideas/{id}/status (staff) → status + history, IdeaStatusChanged in the outbox.
    Version-guarded: of two staff moving at once, the second re-decides on the first's
    result (a move to where the idea already is: 409)."""
    require_staff(user.roles, "change the status of an idea")
    saved = await ideas.change(
        idea_id,
        lambda idea: idea.change_status(cmd.status, user.user_id, cmd.note, now()),
        projection=NO_VOTERS,
    )
    idea = saved.aggregate
    return StatusChanged(idea_id=idea_id, status=idea.status, status_history=history(idea))  # type: ignore[arg-type]


async def merge_ideas(ideas: Ideas, user: Principal, source_id: str, cmd: MergeIdeas) -> Merged:
    """POST /ideas/{id}/merge (staff): the source's votes move to the target, a voter of both
    counts once, the source becomes a pointer (``merged_into``) → IdeasMerged.

    A merge changes two ideas, so it is three single-document commands, each idempotent:

    1. ``begin_merge`` on the source: frozen under a fresh attempt id (no votes from now on);
    2. ``absorb`` on the target, the commit point: the moved voters, the count, a record of
       the attempt and IdeasMerged in ONE update (or the attempt recorded as aborted);
    3. ``finish_merge`` (pointer) or ``release_merge`` (votable again) on the source, as the
       target's record says.

    A crash after 1 or 2 is finished by repeating the request or by the background check
    (jobs.resume_stale_merges); the target's record decides, so votes are never lost or
    counted twice."""
    require_staff(user.roles, "merge ideas")
    target_id = cmd.into_idea_id
    source = await ideas.get(source_id, NO_VOTERS)
    if source.merging_into is not None and source.merge_attempt is not None:
        # an attempt interrupted by a crash: settle it first (finish it, or release the source)
        try:
            done = await complete_merge(
                ideas, source_id, source.merging_into, source.merge_attempt, user.user_id
            )
        except MergeConflictError:
            done = None
        if done is not None and done.target_idea_id == target_id:
            return done
    found = await ideas.find(target_id, NO_VOTERS)
    if found is None:
        raise IdeaNotFoundError(f"no idea {target_id!r}", field="into_idea_id")
    target, attempt, at = found[0], uuid.uuid4().hex, now()
    begun = await ideas.change(
        source_id,
        lambda s: s.begin_merge(target, attempt, user.user_id, at),
        projection=NO_VOTERS,
    )
    assert begun.aggregate.merge_attempt is not None
    return await complete_merge(
        ideas, source_id, target_id, begun.aggregate.merge_attempt, user.user_id
    )


async def complete_merge(
    ideas: Ideas, source_id: str, target_id: str, attempt: str, by: str
) -> Merged:
    """Steps 2 and 3 of a merge (see ``merge_ideas``); safe to run any number of times."""
    target = await ideas.get(target_id)
    if target.merge_record(attempt) is None:
        source = await ideas.get(source_id)  # every voter: they all move
        if source.merge_attempt != attempt:
            raise MergeConflictError(
                f"the merge of {source_id!r} was settled by another request meanwhile",
                field="into_idea_id",
            )
        at = now()
        saved = await ideas.change(target_id, lambda t: t.absorb(source, attempt, by, at))
        target = saved.aggregate
    record = target.merge_record(attempt)
    assert record is not None
    if record.get("aborted"):
        await ideas.change(source_id, lambda s: s.release_merge(attempt), projection=NO_VOTERS)
        raise MergeConflictError(
            f"cannot merge into {target_id!r}: it is merged or being merged itself",
            field="into_idea_id",
        )
    await ideas.change(source_id, lambda s: s.finish_merge(target_id, attempt))
    return Merged(
        source_idea_id=source_id,
        target_idea_id=target_id,
        moved_votes=int(record["moved_votes"]),
        votes=target.votes,
    )


async def add_comment(
    ideas: Ideas,
    comments: Comments,
    user: Principal,
    idea_id: str,
    cmd: AddComment,
    key: str | None = None,
) -> Done:
    """POST /ideas/{id}/comments → a ``comments`` document with IdeaCommented in its outbox.
    With an ``Idempotency-Key`` (the idea id is part of the request) a retry answers as the
    first did, even once the idea has been merged meanwhile."""
    idem = Idempotency.of("ideas/comment", user.user_id, key, {"idea_id": idea_id, "cmd": cmd})
    if (done := await replay(comments.coll, idem)) is not None:
        return done
    idea = await ideas.get(idea_id, NO_VOTERS)
    c, events = idea.comment(user.user_id, cmd.body, now(), idem.id() if idem else None)
    return await comments.add(c.comment_id, c, events, idem=idem, body={"comment_id": c.comment_id})


async def get_idea(db: IdeasDb, ideas: Ideas, idea_id: str, viewer: Principal | None) -> IdeaView:
    """GET /ideas/{id}: by ``_id``; only the caller's own entry of ``voters`` is read."""
    key = voter_key(viewer.user_id) if viewer else None
    idea = await ideas.get(idea_id, one_voter(key) if key else NO_VOTERS)
    count = (await db.comment_counts([idea_id])).get(idea_id, 0)
    my_vote = (1 if key in idea.voters else 0) if key else None
    return full(idea, count, my_vote)


async def list_ideas(
    db: IdeasDb,
    *,
    status: str | None,
    category: str | None,
    sort: str,
    limit: int,
    cursor: str | None,
) -> IdeaPage:
    """GET /ideas: live (not merged) ideas, keyset-paginated, every filter set indexed."""
    query: Doc = {"merged_into": None}
    if status is not None:
        query["status"] = status
    if category is not None:
        query["category"] = category.strip().lower()
    docs, nxt = await page(
        db.ideas,
        query,
        sort=SORT_FIELDS[sort],
        limit=limit,
        cursor=cursor,
        projection={"outbox": 0, "voters": 0},
    )
    counts = await db.comment_counts([d["_id"] for d in docs])
    items = [summary(d, counts.get(d["_id"], 0)) for d in docs]
    return IdeaPage.model_validate({"items": items, "next_cursor": nxt})


async def list_comments(
    db: IdeasDb, ideas: Ideas, idea_id: str, limit: int, cursor: str | None
) -> CommentPage:
    """GET /ideas/{id}/comments: oldest first, keyset-paginated on (created_at, _id)."""
    if await ideas.find(idea_id, NO_VOTERS) is None:
        raise IdeaNotFoundError(f"no idea {idea_id!r}")
    docs, nxt = await page(
        db.comments,
        {"idea_id": idea_id},
        sort="created_at",
        limit=limit,
        cursor=cursor,
        projection={"outbox": 0},
        descending=False,
    )
    return CommentPage(items=[comment(d) for d in docs], next_cursor=nxt)
