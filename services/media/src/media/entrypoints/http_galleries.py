"""HTTP routes of galleries: create, list, read, items (add, move, remove), helpful votes,
and the server-rendered gallery page."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import HTMLResponse

from communitykit.auth import CurrentUser

from .. import handlers, page
from ..domain import commands as c
from ..views import GalleryCreatedView, GalleryPage, GalleryView, Helpful, ItemAdded, ItemMoved
from .deps import Cursor, Limit, RepoSet, Viewer, published

router = APIRouter(tags=["galleries"])

PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
ON_GALLERY: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing or invalid bearer token", **PROBLEM},
    403: {"description": "not allowed", **PROBLEM},
    404: {"description": "no such gallery or item", **PROBLEM},
    409: {"description": "already there, not ready, or full", **PROBLEM},
}
Filter = Annotated[str | None, Query(pattern=c.ID)]


@router.post(
    "/galleries",
    status_code=status.HTTP_201_CREATED,
    response_model=GalleryCreatedView,
    responses=ON_GALLERY,
)
async def create_gallery(
    body: c.CreateGallery, user: CurrentUser, repos: RepoSet, request: Request
) -> GalleryCreatedView:
    """GalleryCreated; ``kind: howto`` is staff-only and one per product."""
    gid = await handlers.create_gallery(repos, user, body)
    published(request)
    return GalleryCreatedView(gallery_id=gid)


@router.get("/galleries", response_model=GalleryPage)
async def list_galleries(
    repos: RepoSet,
    product_id: Filter = None,
    group_id: Filter = None,
    tag: Filter = None,
    kind: Literal["community", "howto"] | None = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> GalleryPage:
    """Newest first; at most one filter besides ``kind`` is indexed together with it."""
    return await handlers.list_galleries(
        repos,
        product_id=product_id,
        group_id=group_id,
        tag=tag,
        kind=kind,
        limit=limit,
        cursor=cursor,
    )


@router.get("/galleries/{gallery_id}", response_model=GalleryView, responses=ON_GALLERY)
async def get_gallery(gallery_id: str, repos: RepoSet, viewer: Viewer) -> GalleryView:
    return await handlers.get_gallery(repos, gallery_id, viewer)


@router.get(
    "/galleries/{gallery_id}/view",
    response_class=HTMLResponse,
    responses={404: {"description": "no such gallery", **PROBLEM}},
)
async def view_gallery(gallery_id: str, repos: RepoSet) -> HTMLResponse:
    """The gallery page (server-rendered; public items only: it is what anyone sees)."""
    g = await handlers.require_gallery(repos, gallery_id)
    items = await handlers.gallery_items(repos, g, None)
    return page.render(g, items)


@router.post(
    "/galleries/{gallery_id}/items",
    status_code=status.HTTP_201_CREATED,
    response_model=ItemAdded,
    responses=ON_GALLERY,
)
async def add_item(
    gallery_id: str, body: c.AddItem, user: CurrentUser, repos: RepoSet, request: Request
) -> ItemAdded:
    """GalleryItemAdded (one update of the gallery)."""
    out = await handlers.add_item(repos, user, gallery_id, body)
    published(request)
    return out


@router.put(
    "/galleries/{gallery_id}/items/{media_id}/position",
    response_model=ItemMoved,
    responses=ON_GALLERY,
)
async def move_item(
    gallery_id: str,
    media_id: str,
    body: c.MoveItem,
    user: CurrentUser,
    repos: RepoSet,
    request: Request,
) -> ItemMoved:
    """GalleryItemMoved (curators: the owner, staff for a how-to, moderators)."""
    out = await handlers.move_item(repos, user, gallery_id, media_id, body)
    published(request)
    return out


@router.delete(
    "/galleries/{gallery_id}/items/{media_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=ON_GALLERY,
)
async def remove_item(
    gallery_id: str, media_id: str, user: CurrentUser, repos: RepoSet, request: Request
) -> Response:
    """GalleryItemRemoved."""
    await handlers.remove_item(repos, user, gallery_id, media_id)
    published(request)
    return Response(status_code=204)


@router.put(
    "/galleries/{gallery_id}/items/{media_id}/vote",
    response_model=Helpful,
    responses=ON_GALLERY,
)
async def vote(
    gallery_id: str,
    media_id: str,
    body: c.Vote,
    user: CurrentUser,
    repos: RepoSet,
    request: Request,
) -> Helpful:
    """A "helpful" vote (value 1) or its withdrawal (0): MediaVoted."""
    out = await handlers.vote(repos, user, gallery_id, media_id, body)
    published(request)
    return out
