"""Search HTTP API (reads only): GET /search, GET /similar."""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from communitykit.app import runtime_of
from communitykit.problems import InvalidInputError

from ..adapters import queries
from ..service import SearchService

router = APIRouter()

#: a query longer than this is refused (422); shorter ones are capped at MAX_CLAUSES words
MAX_QUERY_CHARS = 1000
#: results beyond this rank are not paged to (deep paging costs linearly)
MAX_OFFSET = 1000

Limit = Annotated[int, Query(ge=1, le=100)]
Text = Annotated[str, Query(min_length=1, max_length=MAX_QUERY_CHARS)]
Filter = Annotated[str | None, Query(min_length=1, max_length=200)]


def _service(request: Request) -> SearchService:
    return runtime_of(request).search  # type: ignore[attr-defined,no-any-return]


def _decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        offset = int(base64.urlsafe_b64decode(cursor.encode()).decode())
    except (ValueError, UnicodeError) as e:
        raise InvalidInputError("cursor is not one this API issued", field="cursor") from e
    if not 0 <= offset <= MAX_OFFSET:
        raise InvalidInputError("cursor is not one this API issued", field="cursor")
    return offset


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(str(offset).encode()).decode()


@router.get("/search")
async def search(
    request: Request,
    q: Text,
    kind: Filter = None,
    group_id: Filter = None,
    tag: Filter = None,
    product_id: Filter = None,
    limit: Limit = 20,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Threads and ideas ranked by relevance, each with a highlighted snippet (``<b>``)."""
    start = _decode_cursor(cursor)
    filters = queries.Filters(kind=kind, group_id=group_id, tag=tag, product_id=product_id)
    items, more = _service(request).search(q, filters, limit=limit, offset=start)
    nxt = start + limit
    more = more and nxt <= MAX_OFFSET
    return {"items": items, "next_cursor": _encode_cursor(nxt) if more else None}


@router.get("/similar")
async def similar(request: Request, title: Text) -> dict[str, Any]:
    """The five threads or ideas most like a draft title (ask and submit forms)."""
    return {"items": _service(request).similar(title)}
