"""HTTP routes of the gatherings service: parse, call one handler, return."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import AwareDatetime
from starlette.convertors import Convertor, register_url_convertor

from communitykit.auth import CurrentUser, OptionalUser
from communitykit.idempotency import IdempotencyKey
from communitykit.timezones import IsoDatetime

from ..domain.commands import (
    AnswerQuestion,
    AskQuestion,
    CancelGathering,
    OpenGiveaway,
    PostRecap,
    Redraw,
    Rsvp,
    ScheduleGathering,
    UpdateGathering,
    VoteQuestion,
)
from ..handlers import calendar, gatherings, giveaways, questions
from ..views import (
    CalendarToken,
    CheckedIn,
    Created,
    Drawn,
    Entry,
    GatheringPage,
    GatheringView,
    GiveawayCreated,
    GiveawayView,
    Proof,
    QuestionCreated,
    QuestionPage,
    QuestionView,
    RsvpView,
)
from .deps import Cursor, Limit, StoresDep, published

router = APIRouter(tags=["gatherings"])

PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing or invalid bearer token", **PROBLEM},
    403: {"description": "not allowed (the detail says why)", **PROBLEM},
    404: {"description": "no such gathering, question or giveaway", **PROBLEM},
    409: {"description": "cancelled, over, closed, or not in that state", **PROBLEM},
    422: {"description": "malformed input or an unknown field (named in `field`)", **PROBLEM},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "not found", **PROBLEM}}
ICS: dict[int | str, dict[str, Any]] = {200: {"content": {"text/calendar": {}}}}
CALENDAR = "text/calendar; charset=utf-8"


class GatheringIdConvertor(Convertor[str]):
    """``{gathering_id:gid}``: ids are letters, digits, ``_`` and ``-`` (handlers.common.new_id,
    Idempotency-Key ids), so ``/gatherings/{id}.ics`` is not also ``/gatherings/{id}`` of a
    gathering named "….ics" (whose PATCH an ``Allow`` header would then advertise)."""

    regex = "[A-Za-z0-9_-]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("gid", GatheringIdConvertor())


@router.post(
    "/gatherings",
    status_code=status.HTTP_201_CREATED,
    response_model=Created,
    responses=WRITE_ERRORS,
)
async def schedule(
    body: ScheduleGathering,
    user: CurrentUser,
    stores: StoresDep,
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> Created:
    out = await gatherings.schedule(stores, user, body, idempotency_key)
    published(request)
    return Created.model_validate(out.apply(response))


@router.get("/gatherings", response_model=GatheringPage)
async def list_gatherings(
    stores: StoresDep,
    viewer: OptionalUser,
    from_: Annotated[IsoDatetime | None, Query(alias="from")] = None,
    to: IsoDatetime | None = None,
    group_id: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    status: Literal["upcoming", "live", "past"] | None = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> GatheringPage:
    return await gatherings.list_gatherings(
        stores,
        start=from_,
        end=to,
        group_id=group_id,
        status=status,
        limit=limit,
        cursor=cursor,
        viewer=viewer,
    )


@router.get("/gatherings/{gathering_id:gid}.ics", responses={**ICS, **NOT_FOUND})
async def gathering_ics(gathering_id: str, stores: StoresDep) -> Response:
    return Response(await calendar.gathering_ics(stores, gathering_id), media_type=CALENDAR)


@router.get("/gatherings/{gathering_id:gid}", response_model=GatheringView, responses=NOT_FOUND)
async def get_gathering(
    gathering_id: str,
    stores: StoresDep,
    viewer: OptionalUser,
    occurrence: Annotated[AwareDatetime | None, Query()] = None,
) -> GatheringView:
    """``occurrence``: the start of one occurrence of a recurring gathering (its seats and
    the caller's RSVP to it); default the first not over yet."""
    return await gatherings.get(stores, gathering_id, viewer, occurrence)


@router.patch(
    "/gatherings/{gathering_id:gid}", response_model=GatheringView, responses=WRITE_ERRORS
)
async def update_gathering(
    gathering_id: str, body: UpdateGathering, user: CurrentUser, stores: StoresDep, request: Request
) -> GatheringView:
    out = await gatherings.update(stores, user, gathering_id, body)
    published(request)
    return out


@router.post(
    "/gatherings/{gathering_id:gid}/cancel", response_model=GatheringView, responses=WRITE_ERRORS
)
async def cancel_gathering(
    gathering_id: str,
    user: CurrentUser,
    stores: StoresDep,
    request: Request,
    body: CancelGathering | None = None,
) -> GatheringView:
    out = await gatherings.cancel(stores, user, gathering_id, body or CancelGathering())
    published(request)
    return out


@router.put("/gatherings/{gathering_id:gid}/rsvp", response_model=RsvpView, responses=WRITE_ERRORS)
async def rsvp(
    gathering_id: str, body: Rsvp, user: CurrentUser, stores: StoresDep, request: Request
) -> RsvpView:
    out = await gatherings.rsvp(stores, user, gathering_id, body)
    published(request)
    return out


@router.post(
    "/gatherings/{gathering_id:gid}/check-in", response_model=CheckedIn, responses=WRITE_ERRORS
)
async def check_in(
    gathering_id: str, user: CurrentUser, stores: StoresDep, request: Request
) -> CheckedIn:
    out = await gatherings.check_in(stores, user, gathering_id)
    published(request)
    return out


@router.put(
    "/gatherings/{gathering_id:gid}/recap", response_model=GatheringView, responses=WRITE_ERRORS
)
async def recap(
    gathering_id: str, body: PostRecap, user: CurrentUser, stores: StoresDep, request: Request
) -> GatheringView:
    out = await gatherings.recap(stores, user, gathering_id, body)
    published(request)
    return out


# ---------------------------------------------------------------------- the special guest
@router.post(
    "/gatherings/{gathering_id:gid}/questions",
    status_code=status.HTTP_201_CREATED,
    response_model=QuestionCreated,
    responses=WRITE_ERRORS,
)
async def ask(
    gathering_id: str,
    body: AskQuestion,
    user: CurrentUser,
    stores: StoresDep,
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> QuestionCreated:
    out = await questions.ask(stores, user, gathering_id, body, idempotency_key)
    published(request)
    return QuestionCreated.model_validate(out.apply(response))


@router.get(
    "/gatherings/{gathering_id:gid}/questions", response_model=QuestionPage, responses=NOT_FOUND
)
async def list_questions(
    gathering_id: str,
    stores: StoresDep,
    sort: Literal["top", "new"] = "top",
    limit: Limit = 20,
    cursor: Cursor = None,
) -> QuestionPage:
    return await questions.list_questions(stores, gathering_id, sort, limit, cursor)


@router.put(
    "/gatherings/{gathering_id:gid}/questions/{question_id}/vote",
    response_model=QuestionView,
    responses=WRITE_ERRORS,
)
async def vote_question(
    gathering_id: str, question_id: str, body: VoteQuestion, user: CurrentUser, stores: StoresDep
) -> QuestionView:
    return await questions.vote(stores, user, gathering_id, question_id, body)


@router.post(
    "/gatherings/{gathering_id:gid}/questions/{question_id}/answer",
    response_model=QuestionView,
    responses=WRITE_ERRORS,
)
async def answer_question(
    gathering_id: str,
    question_id: str,
    body: AnswerQuestion,
    user: CurrentUser,
    stores: StoresDep,
    request: Request,
) -> QuestionView:
    out = await questions.answer(stores, user, gathering_id, question_id, body)
    published(request)
    return out


# ---------------------------------------------------------------------- giveaways
@router.post(
    "/gatherings/{gathering_id:gid}/giveaways",
    status_code=status.HTTP_201_CREATED,
    response_model=GiveawayCreated,
    responses=WRITE_ERRORS,
)
async def open_giveaway(
    gathering_id: str,
    body: OpenGiveaway,
    user: CurrentUser,
    stores: StoresDep,
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> GiveawayCreated:
    out = await giveaways.open_giveaway(stores, user, gathering_id, body, idempotency_key)
    published(request)
    return GiveawayCreated.model_validate(out.apply(response))


@router.get(
    "/gatherings/{gathering_id:gid}/giveaways",
    response_model=list[GiveawayView],
    responses=NOT_FOUND,
)
async def list_giveaways(gathering_id: str, stores: StoresDep) -> list[GiveawayView]:
    return await giveaways.list_for(stores, gathering_id)


@router.get(
    "/gatherings/{gathering_id:gid}/giveaways/{giveaway_id}",
    response_model=GiveawayView,
    responses=NOT_FOUND,
)
async def get_giveaway(
    gathering_id: str, giveaway_id: str, stores: StoresDep, viewer: OptionalUser
) -> GiveawayView:
    return await giveaways.get(stores, gathering_id, giveaway_id, viewer)


@router.put(
    "/gatherings/{gathering_id:gid}/giveaways/{giveaway_id}/entry",
    response_model=Entry,
    responses=WRITE_ERRORS,
)
async def enter_giveaway(
    gathering_id: str, giveaway_id: str, user: CurrentUser, stores: StoresDep, request: Request
) -> Entry:
    out = await giveaways.enter(stores, user, gathering_id, giveaway_id)
    published(request)
    return out


@router.post(
    "/gatherings/{gathering_id:gid}/giveaways/{giveaway_id}/draw",
    response_model=Drawn,
    responses=WRITE_ERRORS,
)
async def draw(
    gathering_id: str, giveaway_id: str, user: CurrentUser, stores: StoresDep, request: Request
) -> Drawn:
    out = await giveaways.draw(stores, user, gathering_id, giveaway_id)
    published(request)
    return out


@router.post(
    "/gatherings/{gathering_id:gid}/giveaways/{giveaway_id}/redraw",
    response_model=Drawn,
    responses=WRITE_ERRORS,
)
async def redraw(
    gathering_id: str,
    giveaway_id: str,
    body: Redraw,
    user: CurrentUser,
    stores: StoresDep,
    request: Request,
) -> Drawn:
    out = await giveaways.redraw(stores, user, gathering_id, giveaway_id, body)
    published(request)
    return out


@router.get(
    "/gatherings/{gathering_id:gid}/giveaways/{giveaway_id}/proof",
    response_model=Proof,
    responses=NOT_FOUND,
)
async def proof(gathering_id: str, giveaway_id: str, stores: StoresDep) -> Proof:
    return await giveaways.proof(stores, gathering_id, giveaway_id)


# ---------------------------------------------------------------------- calendar feeds
@router.post("/members/me/calendar-token", response_model=CalendarToken, responses=WRITE_ERRORS)
async def issue_calendar_token(user: CurrentUser, stores: StoresDep) -> CalendarToken:
    return await calendar.issue_token(stores, user)


@router.delete(
    "/members/me/calendar-token", status_code=status.HTTP_204_NO_CONTENT, responses=WRITE_ERRORS
)
async def revoke_calendar_token(user: CurrentUser, stores: StoresDep) -> Response:
    await calendar.revoke_token(stores, user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/members/{member_id}/calendar.ics",
    responses={**ICS, 403: {"description": "unknown or revoked token", **PROBLEM}},
)
async def member_calendar(
    member_id: str,
    stores: StoresDep,
    token: Annotated[str, Query(min_length=1, max_length=200)],
) -> Response:
    return Response(await calendar.member_ics(stores, member_id, token), media_type=CALENDAR)


routers = [router]
