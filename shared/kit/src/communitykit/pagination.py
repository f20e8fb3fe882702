"""The one cursor of every list API (SPEC 3: ``limit`` + opaque ``cursor``; CONVENTIONS 11).

A cursor is base64url (no padding) of the JSON ``[1, <binding>, <position>]``:

* ``1``: the format version;
* ``<binding>``: a short hash of the query the cursor was issued for (collection, filters,
  sort and direction, plus any ``scope`` the caller adds). A cursor from one sort or filter
  set reused with another is refused (422, ``field: cursor``) instead of silently paging
  through the wrong list;
* ``<position>``: the keyset position of the last item given, e.g. ``[sort value, _id]``.
  Only plain values (string, number, null, timestamp) are accepted, so a cursor can never
  smuggle a query operator into a filter.

Keyset, not offset: the next page starts strictly after the last item's (sort value, id),
so rows inserted or removed meanwhile never duplicate or skip rows of a stable order.

``page`` serves MongoDB lists; ``encode_cursor`` / ``decode_cursor`` serve lists built some
other way (a merged ledger, a ranked search): same format, same errors.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import orjson
from pymongo.asynchronous.collection import AsyncCollection

from .problems import InvalidInputError

Doc = dict[str, Any]
#: what a position may hold
Value = str | int | float | datetime | None

VERSION = 1
#: longer than any cursor this module issues for sane sort values; longer input is garbage
MAX_LENGTH = 1000


class InvalidCursorError(InvalidInputError):
    """A cursor this API did not issue, or issued for another query (422, field ``cursor``)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, field="cursor")


MALFORMED = (
    "cursor is not one this API issued (it must be the next_cursor of a previous page, "
    "passed back unchanged)"
)
OTHER_QUERY = (
    "cursor belongs to a different query: it was issued for another sort or other filters; "
    "repeat the request with the same parameters, or without a cursor to start again"
)


def binding(*parts: Any) -> str:
    """A short stable hash of what a cursor is bound to (any JSON-able values; dict key
    order does not matter)."""
    raw = orjson.dumps(list(parts), option=orjson.OPT_SORT_KEYS, default=str)
    return base64.urlsafe_b64encode(hashlib.blake2b(raw, digest_size=9).digest()).decode()


def _wire(v: Value) -> Any:
    return {"t": v.isoformat()} if isinstance(v, datetime) else v


def _value(v: Any) -> Value:
    if isinstance(v, dict):
        if set(v) != {"t"} or not isinstance(v["t"], str):
            raise ValueError("not a timestamp")
        return datetime.fromisoformat(v["t"])
    if isinstance(v, bool) or not isinstance(v, str | int | float | None):
        raise ValueError("not a plain value")
    return v


def encode_cursor(position: Sequence[Value], *, bound_to: str) -> str:
    """The cursor of ``position`` for the query whose ``binding(...)`` is ``bound_to``."""
    body = orjson.dumps([VERSION, bound_to, [_wire(v) for v in position]])
    return base64.urlsafe_b64encode(body).decode().rstrip("=")


def decode_cursor(
    cursor: str, *, bound_to: str, size: int = 2, mismatch: str = OTHER_QUERY
) -> tuple[Value, ...]:
    """The position in ``cursor`` (``size`` values). Garbage → ``InvalidCursorError``
    (malformed); a cursor of another query → ``InvalidCursorError`` with ``mismatch`` (a
    caller may say more precisely what differs)."""
    try:
        if len(cursor) > MAX_LENGTH:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        version, bound, position = orjson.loads(raw)
        if version != VERSION or not isinstance(bound, str) or not isinstance(position, list):
            raise ValueError("not a cursor")
        if len(position) != size:
            raise ValueError("wrong size")
        values = tuple(_value(v) for v in position)
    except (ValueError, TypeError, binascii.Error) as e:  # JSONDecodeError is a ValueError
        raise InvalidCursorError(MALFORMED) from e
    if bound != bound_to:
        raise InvalidCursorError(mismatch)
    return values


async def page(
    coll: AsyncCollection[Doc],
    query: Doc,
    *,
    sort: str,
    limit: int,
    cursor: str | None,
    projection: Doc | None = None,
    descending: bool = True,
    keep: Callable[[Doc], bool] | None = None,
    resolve: Callable[[list[Doc]], Awaitable[list[Doc | None]]] | None = None,
    scope: Any = None,
) -> tuple[list[Doc], str | None]:
    """One page of ``query`` sorted by (``sort``, ``_id``) and the cursor of the next one.

    ``query`` holds equalities only; every find issued here is those equalities plus a range
    on the sort key (or on ``_id`` among ties of the sort key), sorted and limited: the shape
    an index ``(filter fields, sort, _id)`` answers without reading anything else. Documents
    ``keep`` rejects (rare: deleted, hidden) are skipped and more are fetched. With
    ``resolve``, the documents found are index rows and ``resolve`` gives the item of each
    (None: gone); ``keep`` then judges the items, and the cursor is the last row's.

    The cursor is bound to (collection, ``query``, ``sort``, ``descending``, ``scope``):
    filters applied outside ``query`` (in ``keep``) belong in ``scope`` so that a cursor
    cannot be replayed under other filters."""
    bound = binding(coll.name, query, sort, descending, scope)
    order = [(sort, -1 if descending else 1)] + (
        [("_id", -1 if descending else 1)] if sort != "_id" else []
    )
    after = None
    if cursor:
        value, last_id = decode_cursor(cursor, bound_to=bound)
        if not isinstance(last_id, str | int):
            raise InvalidCursorError(MALFORMED)
        after = (value, last_id)
    out: list[tuple[Doc, Doc]] = []  # (row found, item)
    while len(out) <= limit:
        need = limit + 1 - len(out)
        batch = await _next(coll, query, order, after, need, projection, descending)
        items: list[Doc | None] = list(batch) if resolve is None else await resolve(batch)
        for d, item in zip(batch, items, strict=True):
            after = (d.get(sort) if sort != "_id" else d["_id"], d["_id"])
            if item is not None and (keep is None or keep(item)):
                out.append((d, item))
        if len(batch) < need:
            break
    if len(out) <= limit:
        return [item for _, item in out], None
    last = out[limit - 1][0]
    position = (last.get(sort) if sort != "_id" else last["_id"], last["_id"])
    return [item for _, item in out[:limit]], encode_cursor(position, bound_to=bound)


async def _next(
    coll: AsyncCollection[Doc],
    query: Doc,
    order: list[tuple[str, int]],
    after: tuple[Any, Any] | None,
    n: int,
    projection: Doc | None,
    descending: bool,
) -> list[Doc]:
    """Up to ``n`` documents after the keyset position ``after`` (exclusive): first the ties
    of its sort value with a smaller (larger) ``_id``, then strictly smaller (larger) sort
    values. Two plain range queries rather than one ``$or``, so each is an index range."""

    async def find(q: Doc, k: int, by: list[tuple[str, int]] = order) -> list[Doc]:
        return await coll.find(q, projection).sort(by).limit(k).to_list(None)

    if after is None:
        return await find(query, n)
    op = "$lt" if descending else "$gt"
    sort, (value, last_id) = order[0][0], after
    if sort == "_id":
        return await find({**query, "_id": {op: last_id}}, n)
    # the ties: the sort key is fixed by the equality, so order by _id alone (the same order;
    # the embedded store pushes a one-key sort and the limit down to the index, not two keys)
    docs = await find({**query, sort: value, "_id": {op: last_id}}, n, order[1:])
    if len(docs) < n and not (value is None and descending):  # nulls sort lowest
        docs += await find({**query, sort: {op: value}}, n - len(docs))
    return docs
