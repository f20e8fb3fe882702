"""Search HTTP API (reads only): GET /search, GET /similar."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from communitykit.app import runtime_of
from communitykit.pagination import (
    MALFORMED,
    InvalidCursorError,
    binding,
    decode_cursor,
    encode_cursor,
)

from ..adapters import queries
from ..adapters.query_log import QueryLog
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


def _query_log(request: Request) -> QueryLog:
    """The process's query log (made on first use; best effort, never awaited)."""
    state = request.app.state
    if getattr(state, "query_log", None) is None:
        runtime = runtime_of(request)
        rate = getattr(runtime.settings, "query_sample_rate", 1.0)
        state.query_log = QueryLog(runtime.producer, rate)
    return state.query_log  # type: ignore[no-any-return]


def _decode_cursor(cursor: str | None, bound: str) -> int:
    """The offset in a cursor of this very query (kit cursor: another query's is refused)."""
    if not cursor:
        return 0
    (offset,) = decode_cursor(cursor, bound_to=bound, size=1)
    if not isinstance(offset, int) or not 0 <= offset <= MAX_OFFSET:
        raise InvalidCursorError(MALFORMED)
    return offset


@router.get("/search", response_model=Page)
async def search(
    request: Request,
    q: Text,
    kind: Filter = None,
    group_id: Filter = None,
    tag: Filter = None,
    product_id: Filter = None,
    limit: Limit = 20,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> Response:
    """Threads and ideas ranked by relevance, each with a highlighted snippet (``<b>``)."""
    # a ranking has no stable key to seek from: the position is an offset into it, in the
    # kit's cursor format, bound to the query text and filters
    bound = binding("search", q, kind, group_id, tag, product_id)
    start = _decode_cursor(cursor, bound)
    filters = queries.Filters(kind=kind, group_id=group_id, tag=tag, product_id=product_id)
    items, more = _service(request).search(q, filters, limit=limit, offset=start)
    nxt = start + limit
    more = more and nxt <= MAX_OFFSET
    next_cursor = encode_cursor((nxt,), bound_to=bound) if more else None
    if start == 0:  # a new search, not the next page of one (listening's search gaps)
        _query_log(request).record(
            q, "search", len(items), kind=kind, group_id=group_id, tag=tag, product_id=product_id
        )
    return _json({"items": items, "next_cursor": next_cursor})


@router.get("/similar", response_model=Similar)
async def similar(request: Request, title: Text) -> Response:
    """The five threads or ideas most like a draft title (ask and submit forms)."""
    items = _service(request).similar(title)
    _query_log(request).record(title, "similar", len(items))
    return _json({"items": items})
