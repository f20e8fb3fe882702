"""Search HTTP API (reads only): GET /search, GET /similar."""

from __future__ import annotations

import base64
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from communitykit.app import runtime_of
from communitykit.problems import InvalidInputError

from ..adapters import queries
from ..service import SearchService

router = APIRouter()


class Item(BaseModel):
    """One result (SPEC 3): ``snippet`` is HTML, the text escaped and matches in ``<b>``."""

    type: Literal["thread", "idea"]
    id: str
    title: str
    snippet: str
    score: float
    kind: str
    solved: bool | None = None
    status: str | None = None
    merged_into: str | None = None


class Page(BaseModel):
    items: list[Item]
    next_cursor: str | None


class Similar(BaseModel):
    items: list[Item]


def _json(body: dict[str, Any]) -> Response:
    """The body as JSON, serialised once by orjson (FastAPI's encoder walks every value
    again: a measurable part of a search request)."""
    return Response(orjson.dumps(body), media_type="application/json")


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


@router.get("/search", response_model=Page)
async def search(
    request: Request,
    q: Text,
    kind: Filter = None,
    group_id: Filter = None,
    tag: Filter = None,
    product_id: Filter = None,
    limit: Limit = 20,
    cursor: str | None = None,
) -> Response:
    """Threads and ideas ranked by relevance, each with a highlighted snippet (``<b>``)."""
    start = _decode_cursor(cursor)
    filters = queries.Filters(kind=kind, group_id=group_id, tag=tag, product_id=product_id)
    items, more = _service(request).search(q, filters, limit=limit, offset=start)
    nxt = start + limit
    more = more and nxt <= MAX_OFFSET
    return _json({"items": items, "next_cursor": _encode_cursor(nxt) if more else None})


@router.get("/similar", response_model=Similar)
async def similar(request: Request, title: Text) -> Response:
    """The five threads or ideas most like a draft title (ask and submit forms)."""
    return _json({"items": _service(request).similar(title)})
