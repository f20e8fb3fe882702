"""Queries served by indexes answer exactly like the same queries without indexes.

On the embedded store (FerretDB patches 0005-0011) equality and range filters, sorts and
limits on indexed fields are pushed down to SQLite; everything MongoDB treats specially
(type brackets, null and missing, arrays matching by element, numbers of different types,
dates) must give the same answer as FerretDB's in-Go evaluation on an unindexed collection.
This differential test runs on real MongoDB too (both collections answer alike there).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bson import Int64, ObjectId
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

Doc = dict[str, Any]
T0 = datetime(2026, 1, 1, tzinfo=UTC)
OID = ObjectId("0123456789abcdef01234567")
INDEXES = [
    [("kind", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
    [("created_at", DESCENDING), ("_id", DESCENDING)],
    [("n", ASCENDING)],
    [("n", DESCENDING), ("_id", DESCENDING)],
    [("user_id", ASCENDING), ("day", ASCENDING)],
    [("pm.k", ASCENDING), ("pm.pts", DESCENDING), ("_id", DESCENDING)],
]


def scalar(rng: random.Random) -> Any:
    return rng.choice(
        [
            rng.randint(-3, 30),
            rng.randint(-3, 30) + 0.5,
            float(rng.randint(0, 5)),
            2**40 + rng.randint(0, 3),
            str(rng.randint(0, 30)),
            "",
            "é<&>",
            True,
            False,
            None,
            T0 + timedelta(days=rng.randint(-3, 30)),
            OID,
        ]
    )


def documents(rng: random.Random, count: int, *, arrays: bool, objects: bool) -> list[Doc]:
    docs = []
    for i in range(count):
        d: Doc = {"_id": f"d{i:04}"}
        if rng.random() < 0.85:
            d["kind"] = rng.choice(["a", "b", "c"]) if rng.random() < 0.8 else scalar(rng)
        if rng.random() < 0.9:
            d["created_at"] = T0 + timedelta(minutes=rng.randint(0, 60))
            if rng.random() < 0.1:
                d["created_at"] = scalar(rng)
        if rng.random() < 0.9:
            d["n"] = rng.randint(0, 20) if rng.random() < 0.7 else scalar(rng)
        d["user_id"] = f"u{rng.randint(0, 5)}"
        d["day"] = rng.choice(["2026-01-01", "2026-01-02", 20260103])
        r = rng.random()
        if r < 0.7:
            d["pm"] = {"k": rng.choice(["2026-01", "2026-02"]), "pts": rng.randint(0, 9)}
        elif r < 0.75:
            d["pm"] = {"k": None, "pts": scalar(rng)}
        elif r < 0.8:
            d["pm"] = "2026-01"
        elif r < 0.85 and arrays:
            d["pm"] = [{"k": "2026-01", "pts": rng.randint(0, 9)}, {"k": "2026-02"}]
        if arrays and rng.random() < 0.05:
            d[rng.choice(["kind", "n", "created_at"])] = [scalar(rng), "a", 7]
        if objects and rng.random() < 0.05:
            d[rng.choice(["kind", "n", "created_at"])] = {"x": scalar(rng)}
        docs.append(d)
    return docs


def queries() -> list[tuple[Doc, list[tuple[str, int]] | None, int]]:
    by_created = [("created_at", DESCENDING), ("_id", DESCENDING)]
    by_n = [("n", DESCENDING), ("_id", DESCENDING)]
    t = T0 + timedelta(minutes=30)
    return [
        ({"kind": "a"}, by_created, 20),
        ({"kind": "b"}, by_created, 5),
        ({"kind": "a", "created_at": {"$lt": t}}, by_created, 20),
        (
            {"kind": "c", "created_at": {"$gte": t}},
            [("created_at", ASCENDING), ("_id", ASCENDING)],
            7,
        ),
        ({"kind": "a", "created_at": {"$gt": T0, "$lte": t}}, None, 0),
        ({}, by_created, 20),
        ({"created_at": {"$lt": t}}, by_created, 10),
        ({"n": 5}, None, 0),
        ({"n": 5.0}, [("_id", ASCENDING)], 0),
        ({"n": {"$eq": 2.5}}, None, 0),
        ({"n": {"$gt": 0}}, by_n, 20),
        ({"n": {"$gt": 0}}, None, 10),
        ({"n": {"$gte": 3, "$lt": 10}}, [("n", ASCENDING), ("_id", ASCENDING)], 20),
        ({"n": {"$lt": "5"}}, None, 0),
        ({"n": {"$gte": ""}}, by_n, 30),
        ({"n": {"$gt": T0}}, None, 0),
        ({"n": True}, None, 0),
        ({"n": False}, None, 0),
        ({"n": None}, None, 0),
        ({"n": OID}, None, 0),
        ({"n": 2**40 + 1}, None, 0),
        ({"n": "é<&>"}, None, 0),
        ({"n": 1}, by_n, 3),
        ({}, by_n, 25),
        ({"user_id": "u1", "day": "2026-01-02"}, None, 0),
        ({"user_id": "u1", "day": 20260103}, None, 0),
        ({"user_id": "u2"}, [("_id", ASCENDING)], 4),
        ({"kind": "a", "n": {"$gt": 3}}, by_created, 20),
        ({"kind": {"$in": ["a", "b"]}}, by_created, 20),
        ({"pm.k": "2026-01"}, [("pm.pts", DESCENDING), ("_id", DESCENDING)], 10),
        ({"pm.k": "2026-02"}, [("pm.pts", ASCENDING), ("_id", ASCENDING)], 10),
        ({"pm.k": "2026-01", "pm.pts": {"$gt": 4}}, None, 0),
        ({"pm.k": None}, None, 0),
        ({"pm.k": {"$in": ["2026-01", "2026-02"]}}, None, 7),
        ({"n": {"$in": [1, 2.0, Int64(5)]}}, None, 0),
        ({"n": {"$in": [1, 2]}}, None, 5),
        ({"n": {"$in": ["5", "é<&>"]}}, [("_id", ASCENDING)], 0),
        ({"n": {"$in": [True, 1]}}, None, 0),
        ({"n": {"$in": [None, 3]}}, None, 0),
        ({"n": {"$in": [T0 + timedelta(days=3), OID]}}, None, 0),
        ({"user_id": "u1", "day": {"$in": ["2026-01-01", 20260103]}}, None, 0),
        ({"user_id": {"$in": ["u1", "u4"]}, "day": "2026-01-02"}, None, 0),
    ]


async def ids(
    db: AsyncDatabase[Doc], coll: str, filter: Doc, sort: list[tuple[str, int]] | None, limit: int
) -> list[Any]:
    cursor = db[coll].find(filter)
    if sort:
        cursor = cursor.sort(sort)
    if limit:
        cursor = cursor.limit(limit)
    found = [d["_id"] for d in await cursor.to_list(None)]
    # without a sort MongoDB promises no order, and with a limit no particular documents
    return found if sort else sorted(found)


@pytest.mark.parametrize(
    ("arrays", "objects"),
    [(False, False), (True, False), (False, True)],
    ids=["scalars", "with-arrays", "with-objects"],
)
async def test_indexed_queries_answer_like_unindexed_ones(
    db: AsyncDatabase[Doc], arrays: bool, objects: bool
) -> None:
    docs = documents(random.Random(8), 400, arrays=arrays, objects=objects)
    await db.plain.insert_many([dict(d) for d in docs])
    await db.indexed.insert_many([dict(d) for d in docs])
    for keys in INDEXES:
        await db.indexed.create_index(keys)

    for filter, sort, limit in queries():
        if not sort and limit:
            got, want = (
                await ids(db, "indexed", filter, None, limit),
                await ids(db, "plain", filter, None, limit),
            )
            assert len(got) == len(want), (filter, limit)
            assert set(got) <= set(await ids(db, "plain", filter, None, 0)), (filter, limit)
            continue
        got, want = (
            await ids(db, "indexed", filter, sort, limit),
            await ids(db, "plain", filter, sort, limit),
        )
        assert got == want, (filter, sort, limit)


async def test_numeric_id_lookups_match_numbers_of_every_type(db: AsyncDatabase[Doc]) -> None:
    """{_id: 5} matches 5, 5L and 5.0; {_id: 0} matches -0.0 (FerretDB patches 0008, 0009)."""
    ids: list[Any] = [5, Int64(6), 7.0, -0.0, 2.5, 1e21, -(2**40), "5", "6", OID]
    await db.nums.insert_many([{"_id": v, "v": i} for i, v in enumerate(ids)])
    probes = [5, 5.0, Int64(5), 6, 6.0, Int64(7), 7, 0, 0.0, 2.5, 1e21, -(2**40), "5", 8, OID]

    async def found(filter: Doc) -> list[Any]:
        return sorted(d["v"] for d in await db.nums.find(filter).to_list(None))

    for probe in probes:
        got = await found({"_id": probe})
        # $or is evaluated by the handler, never pushed down: the reference answer
        assert got == await found({"$or": [{"_id": probe}]}), probe
        assert len(got) == (0 if probe == 8 else 1), probe
    assert await found({"_id": {"$in": probes}}) == await found(
        {"$or": [{"_id": p} for p in probes]}
    )
