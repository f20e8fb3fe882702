"""HTTP routes for threads, posts and escalations: parse, call one handler, return a view.

Every route declares its response model and its problem+json 4xx responses, so the OpenAPI
document states every response.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response, status

from communitykit.auth import CurrentUser
from communitykit.idempotency import IdempotencyKey

from ..domain.commands import (
    AcceptAnswer,
    CastVote,
    CreateReply,
    CreateThread,
    EditPost,
    FlagPost,
    KindFilter,
    ReopenEscalation,
)
from ..handlers import answers, escalation, moderation, posts, replies, threads, votes
from ..views import (
    Accepted,
    Edited,
    EscalationOut,
    EscalationPage,
    ReplyCreated,
    Score,
    ThreadCreated,
    ThreadDetail,
    ThreadPage,
    problems,
)
from .deps import Cursor, Db, Limit, Viewer, published
from .http_groups import router as groups_router
from .http_moderation import router as moderation_router

router = APIRouter()

WRITE = (401, 403, 404, 409, 422)


@router.post(
    "/threads",
    status_code=status.HTTP_201_CREATED,
    responses=problems(401, 409, 422),
)
async def create_thread(
    body: CreateThread,
    user: CurrentUser,
    db: Db,
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> ThreadCreated:
    """A thread of any kind; a review is one per user and product (409 names the first).
    ``Idempotency-Key``: the same key and body get the first response again."""
    created = await threads.create_thread(db, user, body, idempotency_key)
    published(request)
    return ThreadCreated(**created.apply(response))


@router.get("/threads", responses=problems(422))
async def list_threads(
    db: Db,
    kind: KindFilter = None,
    group_id: str | None = None,
    tag: str | None = None,
    product_id: str | None = None,
    status: Literal["unanswered", "open", "answered", "solved", "escalated"] | None = None,
    sort: Literal["new", "active", "top"] = "new",
    limit: Limit = 20,
    cursor: Cursor = None,
) -> ThreadPage:
    """``status=unanswered``: questions nobody but the asker answered (SPEC 3)."""
    return await threads.list_threads(
        db,
        kind=kind,
        group_id=group_id,
        tag=tag,
        product_id=product_id,
        status=status,
        sort=sort,
        limit=limit,
        cursor=cursor,
    )


@router.get("/threads/{thread_id}", responses=problems(404))
async def get_thread(thread_id: str, db: Db, viewer: Viewer) -> ThreadDetail:
    return await threads.get_thread(db, thread_id, viewer)


@router.post(
    "/threads/{thread_id}/replies",
    status_code=status.HTTP_201_CREATED,
    # 409: the thread's group is archived (it accepts no new posts)
    responses=problems(401, 404, 409, 422),
)
async def reply(
    thread_id: str,
    body: CreateReply,
    user: CurrentUser,
    db: Db,
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> ReplyCreated:
    """The parent must be a live, visible post of the thread (deleted or hidden: 422).
    ``Idempotency-Key``: the same key and body get the first response again."""
    created = await replies.create_reply(db, user, thread_id, body, idempotency_key)
    published(request, "posts")  # the reply's post is its only write
    return ReplyCreated(**created.apply(response))


@router.patch("/posts/{post_id}", responses=problems(*WRITE))
async def edit_post(
    post_id: str, body: EditPost, user: CurrentUser, db: Db, request: Request
) -> Edited:
    out = await posts.edit_post(db, user, post_id, body)
    published(request)
    return out


@router.delete(
    "/posts/{post_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(401, 403, 404, 409),
)
async def delete_post(post_id: str, user: CurrentUser, db: Db, request: Request) -> Response:
    """A question with an accepted answer, a support reply or an escalation waiting for
    support is removed by a moderator only (403 for its author)."""
    await posts.delete_post(db, user, post_id)
    published(request)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/posts/{post_id}/vote", responses=problems(*WRITE))
async def vote(post_id: str, body: CastVote, user: CurrentUser, db: Db, request: Request) -> Score:
    out = await votes.cast_vote(db, user, post_id, body)
    published(request, "votes")  # the vote document is its only write
    return Score(**out)


@router.post(
    "/posts/{post_id}/flags", status_code=status.HTTP_201_CREATED, responses=problems(*WRITE)
)
async def flag(
    post_id: str, body: FlagPost, user: CurrentUser, db: Db, request: Request
) -> moderation.ModerationResult:
    out = await moderation.flag_post(db, user, post_id, body)
    published(request)
    return moderation.ModerationResult(**out)


@router.put("/threads/{thread_id}/accepted-answer", responses=problems(*WRITE))
async def accept(
    thread_id: str, body: AcceptAnswer, user: CurrentUser, db: Db, request: Request
) -> Accepted:
    out = await answers.accept(db, user, thread_id, body.post_id)
    published(request)
    return Accepted(**out)


@router.delete("/threads/{thread_id}/accepted-answer", responses=problems(*WRITE))
async def unaccept(thread_id: str, user: CurrentUser, db: Db, request: Request) -> Accepted:
    """The question is back in play: unanswered or answered again, and escalatable."""
    out = await answers.unaccept(db, user, thread_id)
    published(request)
    return Accepted(**out)


@router.post("/threads/{thread_id}/escalate", responses=problems(*WRITE))
async def escalate(thread_id: str, user: CurrentUser, db: Db, request: Request) -> EscalationOut:
    """The asker asks support (QuestionEscalated), or, after a resolved escalation, asks
    again (EscalationReopened)."""
    out = await escalation.request_escalation(db, user, thread_id)
    published(request)
    return out


@router.post("/threads/{thread_id}/escalation/acknowledge", responses=problems(*WRITE))
async def acknowledge_escalation(
    thread_id: str, user: CurrentUser, db: Db, request: Request
) -> EscalationOut:
    """Support or staff: open → acknowledged (EscalationAcknowledged), seen by the asker."""
    out = await escalation.acknowledge(db, user, thread_id)
    published(request)
    return out


@router.post("/threads/{thread_id}/escalation/confirm", responses=problems(*WRITE))
async def confirm_escalation(
    thread_id: str, user: CurrentUser, db: Db, request: Request
) -> EscalationOut:
    """The asker: confirms a resolution (it can no longer be reopened), or ends an
    escalation still waiting (EscalationResolved)."""
    out = await escalation.confirm(db, user, thread_id)
    published(request)
    return out


@router.post("/threads/{thread_id}/escalation/reopen", responses=problems(*WRITE))
async def reopen_escalation(
    thread_id: str,
    user: CurrentUser,
    db: Db,
    request: Request,
    body: ReopenEscalation | None = None,
) -> EscalationOut:
    """The asker: resolved → open again (EscalationReopened {reason}; the body is optional)."""
    out = await escalation.reopen(db, user, thread_id, (body or ReopenEscalation()).reason)
    published(request)
    return out


@router.get("/escalations", responses=problems(401, 403, 422))
async def list_escalations(
    user: CurrentUser,
    db: Db,
    status: Literal["open", "acknowledged", "resolved"] = "open",
    limit: Limit = 20,
    cursor: Cursor = None,
) -> EscalationPage:
    """Support, staff. ``open`` is the queue: open and acknowledged ones."""
    items, nxt = await escalation.list_escalations(db, user, status, limit, cursor)
    return EscalationPage(items=items, next_cursor=nxt)


routers = [router, groups_router, moderation_router]
