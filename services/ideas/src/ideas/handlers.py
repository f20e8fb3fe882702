"""One function per command or query: load → ask the aggregate → save (one guarded update).

Which events each command publishes is in the README; they all go through the outbox of the
document the command changes.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from communitykit.auth import Principal
from communitykit.idempotency import Created as Done
from communitykit.idempotency import Idempotency, insert_once, replay
from communitykit.outbox import outbox_fields
from communitykit.pagination import page
from communitykit.problems import ProblemError

from .adapters.mongo import SORT_FIELDS, Doc, IdeasDb
from .adapters.repository import ALL, TOPIC, IdeaRepository
from .domain.commands import AddComment, CastVote, ChangeStatus, MergeIdeas, SubmitIdea
from .domain.errors import ConflictError, IdeaNotFoundError, MergeConflictError
from .domain.model import Idea, check_merge, plan_merge, require_staff, voter_key
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

log = logging.getLogger(__name__)

#: reloads after a guarded update missed (someone changed the same part first)
MAX_RETRIES = 50


def now() -> datetime:
    return datetime.now(UTC)


async def submit_idea(
    repo: IdeaRepository, user: Principal, cmd: SubmitIdea, key: str | None = None
) -> Done:
    """POST /ideas → a new ``ideas`` document with IdeaSubmitted in its outbox. With an
    ``Idempotency-Key`` the idea's id derives from it: a retry answers as the first did."""
    idem = Idempotency.of("ideas/submit", user.user_id, key, cmd)
    if (done := await replay(repo.coll, idem)) is not None:
        return done
    idea, events = Idea.submit(cmd, user.user_id, now(), idea_id=idem.id() if idem else None)
    return await repo.add(idea, events, idem)


async def cast_vote(repo: IdeaRepository, user: Principal, idea_id: str, cmd: CastVote) -> Votes:
    """PUT /ideas/{id}/vote → the voter enters or leaves ``voters`` and ``votes`` moves, in
    one update with VoteCast in the outbox; an unchanged vote publishes nothing."""
    for _ in range(MAX_RETRIES):
        idea = await repo.get(idea_id, voters=[voter_key(user.user_id)])
        change = idea.vote(user.user_id, cmd.value, now())
        if change is None:
            return Votes(votes=idea.votes)
        votes = await repo.save_vote(idea, change)
        if votes is not None:
            return Votes(votes=votes)
    raise ConflictError("this vote keeps changing concurrently; try again")


async def change_status(
    repo: IdeaRepository, user: Principal, idea_id: str, cmd: ChangeStatus
) -> StatusChanged:
    """PUT /ideas/{id}/status (staff) → status + history, IdeaStatusChanged in the outbox."""
    require_staff(user.roles, "change the status of an idea")
    for _ in range(MAX_RETRIES):
        idea = await repo.get(idea_id)
        change, events = idea.change_status(cmd.status, user.user_id, cmd.note, now())
        if await repo.save_status(idea, change, events):
            return StatusChanged(idea_id=idea_id, status=idea.status, status_history=history(idea))  # type: ignore[arg-type]
    raise ConflictError("the status keeps changing concurrently; try again")


async def merge_ideas(
    repo: IdeaRepository, user: Principal, source_id: str, cmd: MergeIdeas
) -> Merged:
    """POST /ideas/{id}/merge (staff): the source's votes move to the target, a voter of both
    counts once, the source becomes a pointer (``merged_into``) → IdeasMerged.

    Three single-document steps, resumable after a crash at any point:

    1. the source is frozen: ``merging_into`` = target, with a fresh attempt id (votes on it
       are refused from now on, so its voters cannot change under the merge);
    2. the commit point, ONE update of the target: add the moved voters, the count, a record
       of the attempt and IdeasMerged (applied at most once: the record guards it) — or, if
       the target cannot take the merge, record the attempt as aborted;
    3. settle the source from the target's record: pointer with no votes, or released.

    A crash after 1 or 2 is finished by repeating the request or by the background check
    (``resume_stale_merges``); every step is idempotent, so votes are never lost or counted
    twice."""
    require_staff(user.roles, "merge ideas")
    target_id = cmd.into_idea_id
    source = await repo.get(source_id)
    if source.merging_into is not None and source.merge_attempt is not None:
        # an attempt interrupted by a crash: settle it first (finish it, or release the source)
        try:
            done = await complete_merge(
                repo, source_id, source.merging_into, source.merge_attempt, user.user_id
            )
        except MergeConflictError:
            done = None
        if done is not None and done.target_idea_id == target_id:
            return done
        source = await repo.get(source_id)
    target = await repo.find(target_id)
    if target is None:
        raise IdeaNotFoundError(f"no idea {target_id!r}", field="into_idea_id")
    check_merge(source, target)
    attempt = source.merge_attempt
    if source.merging_into is None:
        attempt = uuid.uuid4().hex
        if not await repo.begin_merge(source_id, target_id, attempt, user.user_id, now()):
            source = await repo.get(source_id)  # changed meanwhile: decide again
            check_merge(source, target)
            attempt = source.merge_attempt
    assert attempt is not None
    return await complete_merge(repo, source_id, target_id, attempt, user.user_id)


async def complete_merge(
    repo: IdeaRepository, source_id: str, target_id: str, attempt: str, by: str
) -> Merged:
    """Steps 2 and 3 of a merge (see ``merge_ideas``); safe to run any number of times."""
    for _ in range(MAX_RETRIES):
        target = await repo.get(target_id, voters=ALL)
        record = target.merge_record(attempt)
        if record is None:
            source = await repo.get(source_id, voters=ALL)
            if source.merge_attempt != attempt:
                raise ConflictError(f"the merge of {source_id!r} changed meanwhile; try again")
            at = now()
            try:
                plan = plan_merge(source, target, by, at)
            except ProblemError:
                await repo.record_abort(source_id, target_id, attempt)
                continue
            await repo.apply_merge(plan, attempt, by, at)
            continue  # re-read the target: our record, or someone else's for this attempt
        if record.get("aborted"):
            await repo.release_merge(source_id, attempt)
            raise MergeConflictError(
                f"cannot merge into {target_id!r}: it is merged or being merged itself",
                field="into_idea_id",
            )
        await repo.finish_merge(source_id, target_id, attempt)
        return Merged(
            source_idea_id=source_id,
            target_idea_id=target_id,
            moved_votes=int(record["moved_votes"]),
            votes=target.votes,
        )
    raise ConflictError("the target keeps changing concurrently; try again")


async def add_comment(
    db: IdeasDb,
    repo: IdeaRepository,
    user: Principal,
    idea_id: str,
    cmd: AddComment,
    key: str | None = None,
) -> Done:
    """POST /ideas/{id}/comments → a ``comments`` document with IdeaCommented in its outbox.
    With an ``Idempotency-Key`` (the idea id is part of the request) a retry answers as the
    first did, even once the idea has been merged meanwhile."""
    idem = Idempotency.of("ideas/comment", user.user_id, key, {"idea_id": idea_id, "cmd": cmd})
    if (done := await replay(db.comments, idem)) is not None:
        return done
    idea = await repo.get(idea_id)
    c, events = idea.comment(user.user_id, cmd.body, now(), idem.id() if idem else None)
    return await insert_once(
        db.comments,
        idem,
        {
            "_id": c.comment_id,
            "idea_id": c.idea_id,
            "author_id": c.author_id,
            "body": c.body,
            "created_at": c.created_at,
            **outbox_fields(TOPIC, events),
        },
        status=201,
        body={"comment_id": c.comment_id},
    )


async def get_idea(
    db: IdeasDb, repo: IdeaRepository, idea_id: str, viewer: Principal | None
) -> IdeaView:
    """GET /ideas/{id}: by ``_id``; only the caller's own entry of ``voters`` is read."""
    keys = [voter_key(viewer.user_id)] if viewer else []
    idea = await repo.get(idea_id, voters=keys)
    count = (await db.comment_counts([idea_id])).get(idea_id, 0)
    my_vote = (1 if keys[0] in idea.voters else 0) if viewer else None
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
    db: IdeasDb, repo: IdeaRepository, idea_id: str, limit: int, cursor: str | None
) -> CommentPage:
    """GET /ideas/{id}/comments: oldest first, keyset-paginated on (created_at, _id)."""
    if await repo.find(idea_id) is None:
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


# ---------------------------------------------------------------------- background work
async def resume_stale_merges(repo: IdeaRepository, older_than: float) -> int:
    """Finish (or release) merges a crash left half done; every replica may run this."""
    done = 0
    for doc in await repo.stale_merges(now() - timedelta(seconds=older_than)):
        try:
            await complete_merge(
                repo, doc["_id"], doc["merging_into"], doc["merge_attempt"], doc.get("merge_by", "")
            )
            done += 1
        except ProblemError as e:
            log.info("merge of %s not resumed: %s", doc["_id"], e.detail)
    return done


async def expire_trending(repo: IdeaRepository) -> int:
    """Drop vote-day buckets that left the 7-day window (``recent_votes`` follows)."""
    at, n = now(), 0
    for idea_id in await repo.ideas_with_expired_days(at):
        for _ in range(MAX_RETRIES):
            if await repo.expire_days(idea_id, at):
                n += 1
                break
    return n


async def every(seconds: float, job: Callable[[], Awaitable[object]], name: str) -> None:
    """Run ``job`` (a coroutine function) every ``seconds`` until cancelled."""
    while True:
        try:
            await job()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("%s failed; will retry", name, exc_info=True)
        await asyncio.sleep(seconds)
