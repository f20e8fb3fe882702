"""HTTP routes of the notifications service: parse, call one handler, return."""

from __future__ import annotations

from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from communitykit.app import runtime_of
from communitykit.auth import CurrentUser, OptionalUser
from communitykit.problems import InvalidInputError

from .. import handlers
from ..adapters.mongo import NotificationsDb
from ..domain.follows import Scope
from ..views import (
    BudgetView,
    FollowBody,
    FollowPage,
    FollowView,
    InboxPage,
    PreferencesBody,
    PreferencesView,
    Read,
    Unsubscribed,
)

router = APIRouter(tags=["notifications"])

PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing or invalid bearer token", **PROBLEM},
    422: {"description": "malformed input or an unknown field (named in `field`)", **PROBLEM},
}
Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=1000)]
Target = Annotated[str, Query(min_length=1, max_length=200)]
Token = Annotated[str, Query(min_length=1, max_length=1000)]


def db_of(request: Request) -> NotificationsDb:
    return NotificationsDb(runtime_of(request).db)


@router.put("/me/follows/{scope}/{target_id}", response_model=FollowView, responses=WRITE_ERRORS)
async def put_follow(
    scope: Scope, target_id: str, body: FollowBody, user: CurrentUser, request: Request
) -> FollowView:
    if not 1 <= len(target_id) <= 200:
        raise InvalidInputError("id must be 1 to 200 characters", field="target_id")
    return await handlers.set_follow(db_of(request), user, scope, target_id, body.level)


@router.get("/me/follows", response_model=FollowPage)
async def get_follows(
    user: CurrentUser, request: Request, limit: Limit = 50, cursor: Cursor = None
) -> FollowPage:
    return await handlers.list_follows(db_of(request), user, limit, cursor)


@router.get("/me/preferences", response_model=PreferencesView)
async def get_preferences(user: CurrentUser, request: Request) -> PreferencesView:
    return await handlers.get_preferences(db_of(request), user)


@router.put("/me/preferences", response_model=PreferencesView, responses=WRITE_ERRORS)
async def put_preferences(
    body: PreferencesBody, user: CurrentUser, request: Request
) -> PreferencesView:
    return await handlers.put_preferences(db_of(request), user, body)


@router.get("/me/notifications", response_model=InboxPage)
async def get_inbox(
    user: CurrentUser, request: Request, limit: Limit = 20, cursor: Cursor = None
) -> InboxPage:
    return await handlers.list_inbox(db_of(request), user, limit, cursor)


@router.get("/me/notifications/budget", response_model=BudgetView)
async def get_budget(user: CurrentUser, request: Request) -> BudgetView:
    return await handlers.budget(db_of(request), user)


@router.post("/me/notifications/read-all", response_model=Read, responses=WRITE_ERRORS)
async def read_all(user: CurrentUser, request: Request) -> Read:
    out = await handlers.read_all(db_of(request), user)
    runtime_of(request).notify_outbox()
    return out


@router.post(
    "/me/notifications/{entry_id}/read",
    response_model=Read,
    responses={**WRITE_ERRORS, 404: {"description": "no such notification", **PROBLEM}},
)
async def read_entry(entry_id: str, user: CurrentUser, request: Request) -> Read:
    out = await handlers.read_entry(db_of(request), user, entry_id)
    runtime_of(request).notify_outbox()
    return out


@router.post(
    "/unsubscribe",
    response_model=Unsubscribed,
    responses={403: {"description": "forged token, or another member's", **PROBLEM}},
)
async def one_click_unsubscribe(
    token: Token, request: Request, caller: OptionalUser
) -> Unsubscribed:
    """RFC 8058 one-click: a mail client POSTs ``List-Unsubscribe=One-Click`` to the link."""
    settings = runtime_of(request).settings
    return await handlers.unsubscribe(db_of(request), settings.jwt_secret, token, caller)


@router.get(
    "/unsubscribe",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {}}, "description": "a page with the button"}},
)
async def unsubscribe_page(token: Token) -> HTMLResponse:
    """A person who opens the link sees a button; a GET never unsubscribes (RFC 8058 3.2:
    link scanners follow GETs)."""
    return HTMLResponse(
        "<!doctype html><title>Unsubscribe</title><form method=post action="
        f'"/unsubscribe?token={escape(token, quote=True)}">'
        '<input type=hidden name="List-Unsubscribe" value="One-Click">'
        "<button>Unsubscribe</button></form>"
    )


routers = [router]
