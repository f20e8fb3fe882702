"""Keyset pagination with an opaque cursor: base64url of JSON [sort value, id]."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

import orjson
from pymongo.asynchronous.collection import AsyncCollection

from ..domain.errors import InvalidCommandError

Doc = dict[str, Any]


def encode_cursor(value: Any, doc_id: str) -> str:
    v = {"t": value.isoformat()} if isinstance(value, datetime) else value
    return base64.urlsafe_b64encode(orjson.dumps([v, doc_id])).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[Any, str]:
    """Garbage → 422 naming ``cursor`` (never a query built from user-controlled operators)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, doc_id = orjson.loads(raw)
        if isinstance(value, dict):
            value = datetime.fromisoformat(value["t"])
        if not isinstance(doc_id, str) or not isinstance(value, int | str | datetime | None):
            raise ValueError("bad cursor")
        return value, doc_id
    except (ValueError, TypeError, KeyError, binascii.Error, orjson.JSONDecodeError) as e:
        raise InvalidCommandError("cursor is not valid", field="cursor") from e


async def page(
    coll: AsyncCollection[Doc],
    query: Doc,
    *,
    sort: str,
    limit: int,
    cursor: str | None,
    projection: Doc | None = None,
    descending: bool = True,
) -> tuple[list[Doc], str | None]:
    """One page of ``query`` sorted by (``sort``, ``_id``) and the cursor of the next one."""
    direction, op = (-1, "$lt") if descending else (1, "$gt")
    if cursor:
        value, last_id = decode_cursor(cursor)
        after = {"$or": [{sort: {op: value}}, {sort: value, "_id": {op: last_id}}]}
        query = {"$and": [query, after]} if query else after
    docs = await (
        coll.find(query, projection)
        .sort([(sort, direction)] + ([("_id", direction)] if sort != "_id" else []))
        .limit(limit + 1)
        .to_list(None)
    )
    if len(docs) <= limit:
        return docs, None
    docs = docs[:limit]
    last = docs[-1]
    return docs, encode_cursor(last.get(sort), last["_id"])
