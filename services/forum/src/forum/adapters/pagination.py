"""Keyset pagination with an opaque cursor: base64url of JSON [sort value, id, scope].

The scope names the list the cursor belongs to (its sort key and filters): a cursor from one
sort or filter reused with another is refused (422) instead of silently skipping rows.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import orjson
from pymongo.asynchronous.collection import AsyncCollection

from ..domain.errors import InvalidCommandError

Doc = dict[str, Any]


def _scope_tag(scope: str) -> str:
    return hashlib.blake2s(scope.encode(), digest_size=6).hexdigest()


def encode_cursor(value: Any, doc_id: str, scope: str = "") -> str:
    v = {"t": value.isoformat()} if isinstance(value, datetime) else value
    raw = orjson.dumps([v, doc_id, _scope_tag(scope)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, scope: str = "") -> tuple[Any, str]:
    """Garbage → 422 naming ``cursor`` (never a query built from user-controlled operators);
    a cursor of another list (sort, filters) → 422 too."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, doc_id, tag = orjson.loads(raw)
        if isinstance(value, dict):
            value = datetime.fromisoformat(value["t"])
        if not isinstance(doc_id, str) or not isinstance(value, int | str | datetime | None):
            raise ValueError("bad cursor")
    except (ValueError, TypeError, KeyError, binascii.Error, orjson.JSONDecodeError) as e:
        raise InvalidCommandError("cursor is not valid", field="cursor") from e
    if tag != _scope_tag(scope):
        raise InvalidCommandError(
            "cursor belongs to another sort or filter; start again without it", field="cursor"
        )
    return value, doc_id


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
    scope: str | None = None,
) -> tuple[list[Doc], str | None]:
    """One page of ``query`` sorted by (``sort``, ``_id``) and the cursor of the next one.

    ``query`` holds equalities only; every find issued here is those equalities plus a range
    on the sort key (or on ``_id`` among ties of the sort key), sorted and limited: the shape
    an index ``(filter fields, sort, _id)`` answers without reading anything else. Documents
    ``keep`` rejects (rare: deleted, hidden) are skipped and more are fetched. With
    ``resolve``, the documents found are index rows and ``resolve`` gives the item of each
    (None: gone); ``keep`` then judges the items, and the cursor is the last row's.
    ``scope`` (default: the collection, sort and query) binds the cursor to this list."""
    if scope is None:
        scope = f"{coll.name}|{sort}|{sorted(query.items())!r}"
    order = [(sort, -1 if descending else 1)] + (
        [("_id", -1 if descending else 1)] if sort != "_id" else []
    )
    after = decode_cursor(cursor, scope) if cursor else None
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
    return (
        [item for _, item in out[:limit]],
        encode_cursor(last.get(sort) if sort != "_id" else last["_id"], last["_id"], scope),
    )


async def _next(
    coll: AsyncCollection[Doc],
    query: Doc,
    order: list[tuple[str, int]],
    after: tuple[Any, str] | None,
    n: int,
    projection: Doc | None,
    descending: bool,
) -> list[Doc]:
    """Up to ``n`` documents after the keyset position ``after`` (exclusive): first the ties
    of its sort value with a smaller (larger) ``_id``, then strictly smaller (larger) sort
    values. Two plain range queries rather than one ``$or``, so each is an index range."""

    async def find(q: Doc, k: int) -> list[Doc]:
        return await coll.find(q, projection).sort(order).limit(k).to_list(None)

    if after is None:
        return await find(query, n)
    op = "$lt" if descending else "$gt"
    sort, (value, last_id) = order[0][0], after
    if sort == "_id":
        return await find({**query, "_id": {op: last_id}}, n)
    docs = await find({**query, sort: value, "_id": {op: last_id}}, n)
    if len(docs) < n and not (value is None and descending):  # nulls sort lowest
        docs += await find({**query, sort: {op: value}}, n - len(docs))
    return docs
