"""HTTP routes of media items: upload, metadata, renditions, moderation."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response, status

from communitykit.auth import CurrentUser

from .. import handlers, serve
from ..domain import commands as c
from ..views import Accepted, MediaView, Moderated, Queue, media_view
from .deps import Config, RepoSet, Store, Viewer, published

router = APIRouter(tags=["media"])

PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such media", **PROBLEM}}
MODERATION: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    401: {"description": "missing or invalid bearer token", **PROBLEM},
    403: {"description": "moderators only / not allowed", **PROBLEM},
    409: {"description": "not in a state that allows it", **PROBLEM},
}
UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "alt_text": {"type": "string", "maxLength": 2000},
                    },
                }
            }
        },
    }
}


@router.post(
    "/media",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    openapi_extra=UPLOAD_BODY,
    responses={
        400: {"description": "the body ended early or is malformed", **PROBLEM},
        403: {"description": "your level may not post videos yet", **PROBLEM},
        413: {"description": "over the size limit (refused or cut)", **PROBLEM},
        415: {"description": "not multipart/form-data", **PROBLEM},
        422: {"description": "bad file name, empty file, missing part", **PROBLEM},
        429: {"description": "today's quota is used (Retry-After)", **PROBLEM},
    },
)
async def upload(
    request: Request, user: CurrentUser, repos: RepoSet, storage: Store, settings: Config
) -> Accepted:
    """Streams the file to storage, then inserts the item with MediaUploaded (the worker
    takes it from there: 202, state ``processing``)."""
    out = await handlers.upload(repos, storage, settings, user, request)
    published(request)
    return out


@router.get("/media/{media_id}", response_model=MediaView, responses=NOT_FOUND)
async def get_media(media_id: str, repos: RepoSet, viewer: Viewer) -> MediaView:
    """Metadata. Held, hidden, rejected and processing items: their author and moderators
    only (404 to others)."""
    return media_view(await handlers.visible_media(repos, media_id, viewer))


@router.get(
    "/media/{media_id}/{rendition:rendition}",
    responses={
        **NOT_FOUND,
        206: {"description": "the requested byte range"},
        304: {"description": "not modified (If-None-Match)"},
        307: {"description": "presigned storage URL (when configured)"},
        416: {"description": "range not satisfiable"},
    },
    response_class=Response,
)
async def get_rendition(
    media_id: str,
    rendition: serve.RenditionName,
    request: Request,
    repos: RepoSet,
    storage: Store,
    settings: Config,
    viewer: Viewer,
) -> Response:
    """A rendition's bytes (ETag, Cache-Control, Range → 206), only once ``ready``."""
    item = await handlers.visible_media(repos, media_id, viewer)
    return await serve.rendition(item, rendition, request, storage, settings)


@router.post("/media/{media_id}/flags", response_model=Moderated, responses=MODERATION)
async def flag(
    media_id: str, body: c.Flag, user: CurrentUser, repos: RepoSet, request: Request
) -> Moderated:
    """MediaFlagged; MediaHidden when the flags reach the threshold (forum rules)."""
    out = await handlers.flag(repos, user, media_id, body)
    published(request)
    return out


@router.post("/media/{media_id}/hide", response_model=Moderated, responses=MODERATION)
async def hide(
    media_id: str, body: c.Hide, user: CurrentUser, repos: RepoSet, request: Request
) -> Moderated:
    """Moderators: MediaHidden (the author's notice carries the reason)."""
    out = await handlers.hide(repos, user, media_id, body)
    published(request)
    return out


@router.post("/media/{media_id}/restore", response_model=Moderated, responses=MODERATION)
async def restore(media_id: str, user: CurrentUser, repos: RepoSet, request: Request) -> Moderated:
    """Moderators: MediaRestored (flags dismissed)."""
    out = await handlers.restore(repos, user, media_id)
    published(request)
    return out


@router.post("/media/{media_id}/approve", response_model=Moderated, responses=MODERATION)
async def approve(media_id: str, user: CurrentUser, repos: RepoSet, request: Request) -> Moderated:
    """Moderators: release a held upload (MediaApproved)."""
    out = await handlers.approve(repos, user, media_id)
    published(request)
    return out


@router.get("/moderation/media", response_model=Queue, responses=MODERATION)
async def moderation_queue(
    user: CurrentUser,
    repos: RepoSet,
    queue: Literal["held", "flagged"] = "flagged",
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> Queue:
    """Moderators: held uploads or flagged items, oldest first."""
    return await handlers.queue(repos, user, queue, limit)
