"""Write helpers shared by the day and user writers: bulk writes that tolerate the races of
several replicas, compare-and-set rounds, and the ledger parts."""

from __future__ import annotations

import hashlib
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any

from pymongo import InsertOne, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError

from communitykit.mongo import bulk_write

from .codec import at_key, versioned

Op = InsertOne[Any] | UpdateOne


async def write(coll: AsyncCollection[Any], ops: Sequence[Op]) -> None:
    """Unordered bulk write of idempotent upserts. Two replicas upserting the same new
    document can both try the insert; the loser's statement is simply run again (the
    document exists by then, so it becomes an update)."""
    for _ in range(3):
        if not ops:
            return
        errors = await bulk_write(coll, ops)
        if any(e.get("code") != 11000 for e in errors):
            raise BulkWriteError({"writeErrors": errors})
        ops = [ops[e["index"]] for e in errors]
    if ops:
        raise BulkWriteError({"writeErrors": [{"code": 11000, "errmsg": "upsert kept racing"}]})


async def cas(coll: AsyncCollection[Any], ops: dict[str, Op], token: str) -> set[str]:
    """Run compare-and-set writes (each an insert of a new document or an update whose
    filter pins the version that was read) and return the ids whose write won. When every
    statement matched or inserted (the usual case) they all won; otherwise, since a bulk
    write does not say which one missed, every written document carries ``write_token``, this
    round's token, and is read back."""
    if not ops:
        return set()
    try:
        result = await coll.bulk_write(list(ops.values()), ordered=False)
        applied = result.matched_count + result.inserted_count
    except BulkWriteError as e:
        if any(err.get("code") != 11000 for err in e.details.get("writeErrors", [])):
            raise
        applied = int(e.details.get("nMatched", 0)) + int(e.details.get("nInserted", 0))
    if applied == len(ops):
        return set(ops)
    got = coll.find({"_id": {"$in": list(ops)}}, {"write_token": 1})
    return {d["_id"] async for d in got if d.get("write_token") == token}


class Finished:
    """The versions of documents whose ``pending`` this process finished writing (day and user
    documents): the document's next compare-and-set update drops such a ``pending`` instead of
    clearing it with a write of its own. Bounded: the least recently finished are forgotten
    (a forgotten ``pending`` is carried and written once more, which its version guards make
    harmless)."""

    def __init__(self, memory: int = 200_000) -> None:
        self._memory = memory
        self._versions: OrderedDict[str, int] = OrderedDict()

    def has(self, doc_id: str, version: int) -> bool:
        return self._versions.get(doc_id) == version

    def add(self, done: Iterable[tuple[str, int]]) -> None:
        for doc_id, version in done:
            self._versions[doc_id] = version
            self._versions.move_to_end(doc_id)
        while len(self._versions) > self._memory:
            self._versions.popitem(last=False)


def new_token() -> str:
    return uuid.uuid4().hex


def scope_field(scope: str) -> str:
    """The field of a scope in a ledger document (ids may hold dots; field names may not)."""
    return "p" if scope == "p" else "g" + hashlib.sha1(scope.encode()).hexdigest()[:16]


def ledger_op(
    user: str,
    event_id: str,
    scope: str,
    n: int,
    row: list[Any] | None,
    ref: dict[str, str] | None = None,
) -> UpdateOne:
    """Upsert one part of a ledger line. ``$max`` on the versioned text keeps the newest
    version of the scope's part, whatever order the writers of several replicas land in.
    ``ref`` (thread_id, post_id, idea_id of the event) is a fact of the event itself, the
    same from every scope and replica, so ``$set`` of it is idempotent."""
    doc: dict[str, Any] = {"user_id": user, "event_id": event_id, **(ref or {})}
    if row is not None:
        doc["order_key"] = f"{row[5]}|{event_id}"
    return UpdateOne(
        {"_id": f"{user}|{event_id}"},
        {"$set": doc, "$max": {f"parts.{scope_field(scope)}": versioned(n, row)}},
        upsert=True,
    )


def credit_of(rows: list[list[Any]]) -> tuple[dict[str, int], str | None]:
    """(points per UTC day of the entries, time of the last part) of a user's parts."""
    days: dict[str, int] = {}
    for r in rows:
        if r[0]:
            day = r[5][:10]
            days[day] = days.get(day, 0) + r[0]
    return {d: p for d, p in sorted(days.items()) if p}, max((r[5] for r in rows), default=None)


__all__ = [
    "Finished",
    "at_key",
    "cas",
    "credit_of",
    "ledger_op",
    "new_token",
    "scope_field",
    "write",
]
