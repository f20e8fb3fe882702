"""``GET /media/{id}/{rendition}``: bytes streamed from storage with ETag, Cache-Control and
HTTP Range (single ranges: what a browser's video element asks for when it seeks)."""

from __future__ import annotations

import re
from typing import Literal, get_args

from fastapi import Request, Response
from fastapi.responses import RedirectResponse, StreamingResponse
from starlette.convertors import Convertor, register_url_convertor

from .adapters.storage import ObjectMissingError, Storage
from .config import Settings
from .domain.errors import RangeNotSatisfiableError, RenditionNotFoundError
from .domain.model import MediaItem

#: every rendition the processing makes (images: processing.images.WIDTHS; video: the
#: stream and its poster); checked against WIDTHS by the unit tests
RenditionName = Literal["w320", "w640", "w1280", "video", "poster"]
RENDITION_NAMES: tuple[str, ...] = get_args(RenditionName)


class RenditionConvertor(Convertor[str]):
    """``{rendition:rendition}``: only rendition names match the path, so that
    ``/media/{id}/approve`` and its siblings are not also a GET of a rendition (an OPTIONS
    or a wrong method there answers 405 with ``Allow`` naming exactly their methods)."""

    regex = "|".join(RENDITION_NAMES)

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("rendition", RenditionConvertor())

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
#: public renditions never change under their URL (a new upload is a new id), but a hidden
#: item must stop being served soon: a day in shared caches, no store for private ones
PUBLIC_CACHE = "public, max-age=86400"
PRIVATE_CACHE = "private, no-store"


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, end) inclusive, None for the whole object; 416 when unsatisfiable. A header
    we do not understand (several ranges, another unit) is ignored: the whole object is a
    valid answer to any Range request (RFC 9110 14.2)."""
    if not header:
        return None
    m = _RANGE.match(header.strip())
    if not m or (not m[1] and not m[2]):
        return None
    if not m[1]:  # suffix: the last N bytes
        n = int(m[2])
        if n == 0:
            raise RangeNotSatisfiableError(f"empty suffix range of a {size}-byte object")
        return max(0, size - n), size - 1
    start = int(m[1])
    end = int(m[2]) if m[2] else size - 1
    if start >= size or end < start:
        raise RangeNotSatisfiableError(f"range {header} is outside the {size}-byte object")
    return start, min(end, size - 1)


async def rendition(
    item: MediaItem, name: str, request: Request, storage: Storage, settings: Settings
) -> Response:
    r = item.renditions.get(name) if item.state == "ready" else None
    if r is None:
        raise RenditionNotFoundError(f"media {item.media_id} has no rendition {name!r}")
    cache = PUBLIC_CACHE if item.public else PRIVATE_CACHE
    etag = f'"{r.etag}"'
    headers = {"ETag": etag, "Cache-Control": cache, "Accept-Ranges": "bytes"}
    if settings.presigned_redirect and item.public:
        url = await storage.presign(r.key, settings.presigned_ttl_seconds)
        return RedirectResponse(url, status_code=307, headers={"Cache-Control": "no-store"})
    inm = request.headers.get("if-none-match")
    if inm and etag in [t.strip() for t in inm.split(",")]:
        return Response(status_code=304, headers=headers)
    try:
        byte_range = parse_range(request.headers.get("range"), r.size)
    except RangeNotSatisfiableError:
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{r.size}"})
    if_range = request.headers.get("if-range")
    if byte_range is not None and if_range and if_range.strip() != etag:
        byte_range = None  # the client's copy is stale: send the whole object
    try:
        got = await storage.get(r.key, byte_range)
    except ObjectMissingError:
        raise RenditionNotFoundError(f"the bytes of {name!r} are gone") from None
    headers["Content-Length"] = str(got.length)
    status = 200
    if byte_range is not None:
        status = 206
        start = byte_range[0]
        headers["Content-Range"] = f"bytes {start}-{start + got.length - 1}/{got.total}"
    return StreamingResponse(
        got.chunks(), status_code=status, media_type=r.content_type, headers=headers
    )
