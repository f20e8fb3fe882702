"""Updates are atomic read-modify-writes (FerretDB patch 0002; real MongoDB does this).

On unpatched FerretDB 1.24.2 an update read the document with a plain SELECT, applied the
operators in Go and wrote it back keyed on ``_id`` only: concurrent ``$inc`` lost most of
their increments, and two updates guarded by the same version condition both matched.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

TASKS = 8
INCS = 200


async def test_concurrent_inc_loses_no_increment(db: AsyncDatabase[dict[str, Any]]) -> None:
    await db.counters.insert_one({"_id": "c", "n": 0})

    async def bump() -> None:
        for _ in range(INCS):
            r = await db.counters.update_one({"_id": "c"}, {"$inc": {"n": 1}})
            assert r.matched_count == 1

    await asyncio.gather(*(bump() for _ in range(TASKS)))
    doc = await db.counters.find_one({"_id": "c"})
    assert doc is not None
    assert doc["n"] == TASKS * INCS, f"{TASKS * INCS - doc['n']} increments lost"


async def test_concurrent_find_and_modify_inc_loses_no_increment(
    db: AsyncDatabase[dict[str, Any]],
) -> None:
    await db.counters.insert_one({"_id": "c", "n": 0})
    seen: list[int] = []

    async def bump() -> None:
        for _ in range(INCS // 2):
            doc = await db.counters.find_one_and_update(
                {"_id": "c"}, {"$inc": {"n": 1}}, return_document=ReturnDocument.AFTER
            )
            assert doc is not None
            seen.append(doc["n"])

    await asyncio.gather(*(bump() for _ in range(TASKS)))
    doc = await db.counters.find_one({"_id": "c"})
    assert doc is not None
    assert doc["n"] == TASKS * INCS // 2, f"{TASKS * INCS // 2 - doc['n']} increments lost"
    # every caller saw its own increment: the returned values are all distinct
    assert sorted(seen) == list(range(1, TASKS * INCS // 2 + 1))


async def test_version_guarded_updates_never_both_match(
    db: AsyncDatabase[dict[str, Any]],
) -> None:
    rounds, both = 100, 0
    await db.docs.insert_many([{"_id": i, "version": 0} for i in range(rounds)])

    async def guarded(i: int, who: str) -> int:
        r = await db.docs.update_one(
            {"_id": i, "version": 0}, {"$set": {"by": who}, "$inc": {"version": 1}}
        )
        return r.modified_count

    for i in range(rounds):
        a, b = await asyncio.gather(guarded(i, "a"), guarded(i, "b"))
        assert a + b >= 1
        both += a + b == 2
    assert both == 0, f"both guarded updates matched in {both} of {rounds} rounds"
    assert await db.docs.count_documents({"version": 1}) == rounds


async def test_guarded_find_and_modify_matches_once(db: AsyncDatabase[dict[str, Any]]) -> None:
    rounds, both = 50, 0
    await db.docs.insert_many([{"_id": i, "version": 0} for i in range(rounds)])

    async def claim(i: int, who: str) -> bool:
        doc = await db.docs.find_one_and_update(
            {"_id": i, "version": 0}, {"$set": {"by": who}, "$inc": {"version": 1}}
        )
        return doc is not None

    for i in range(rounds):
        a, b = await asyncio.gather(claim(i, "a"), claim(i, "b"))
        assert a or b
        both += a and b
    assert both == 0, f"both claims matched in {both} of {rounds} rounds"
