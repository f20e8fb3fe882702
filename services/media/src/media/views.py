"""Response models of the HTTP API (the OpenAPI document states every response)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from schemas.media import GalleryKind, MediaKind

from .domain.gallery import Gallery
from .domain.model import MediaItem


class Accepted(BaseModel):
    media_id: str
    state: str


class MediaView(BaseModel):
    media_id: str
    author_id: str
    state: Literal["processing", "ready", "rejected"]
    reason: str | None = None
    held: bool
    hidden: bool
    kind: MediaKind | None
    content_type: str | None
    size: int
    width: int | None
    height: int | None
    duration_seconds: float | None
    alt_text: str
    filename: str
    created_at: datetime
    #: rendition name → URL path (``w320``, ``w640``, ``w1280``; ``video``, ``poster``)
    renditions: dict[str, str]


def rendition_url(media_id: str, name: str) -> str:
    return f"/media/{media_id}/{name}"


def media_view(m: MediaItem) -> MediaView:
    assert m.state != "deleted"
    return MediaView(
        media_id=m.media_id,
        author_id=m.author_id,
        state=m.state,
        reason=m.reason,
        held=m.held,
        hidden=m.hidden,
        kind=m.kind or (m.kind_hint if m.state == "processing" else None),
        content_type=m.content_type,
        size=m.size,
        width=m.width,
        height=m.height,
        duration_seconds=m.duration_seconds,
        alt_text=m.alt_text,
        filename=m.filename,
        created_at=m.created_at,
        renditions={n: rendition_url(m.media_id, n) for n in sorted(m.renditions)}
        if m.state == "ready"
        else {},
    )


class Moderated(BaseModel):
    media_id: str
    held: bool
    hidden: bool
    flag_count: int


class QueueItem(BaseModel):
    media: MediaView
    flags: dict[str, str]


class Queue(BaseModel):
    items: list[QueueItem]


class GalleryCreatedView(BaseModel):
    gallery_id: str


class ItemView(BaseModel):
    media_id: str
    caption: str
    alt_text: str
    added_by: str
    helpful: int
    media: MediaView


class GalleryView(BaseModel):
    gallery_id: str
    owner_id: str
    title: str
    description: str
    kind: GalleryKind
    product_id: str | None
    group_id: str | None
    tags: list[str]
    created_at: datetime
    items: list[ItemView]


class GallerySummary(BaseModel):
    gallery_id: str
    owner_id: str
    title: str
    description: str
    kind: GalleryKind
    product_id: str | None
    group_id: str | None
    tags: list[str]
    item_count: int
    created_at: datetime


def summary(g: Gallery) -> GallerySummary:
    return GallerySummary(
        gallery_id=g.gallery_id,
        owner_id=g.owner_id,
        title=g.title,
        description=g.description,
        kind=g.kind,
        product_id=g.product_id,
        group_id=g.group_id,
        tags=g.tags,
        item_count=len(g.items),
        created_at=g.created_at,
    )


class GalleryPage(BaseModel):
    items: list[GallerySummary]
    next_cursor: str | None


class ItemAdded(BaseModel):
    gallery_id: str
    media_id: str
    position: int


class ItemMoved(BaseModel):
    gallery_id: str
    media_id: str
    position: int


class Helpful(BaseModel):
    gallery_id: str
    media_id: str
    value: Literal[0, 1]
    helpful: int
