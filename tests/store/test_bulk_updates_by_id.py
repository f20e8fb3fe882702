"""A bulk of updates by ``_id`` is one read and one write transaction (FerretDB patch 0014).

Unpatched FerretDB ran each statement of an ``update`` command as its own query and its own
SQLite transaction. The patch reads the documents of such a bulk with one ``_id $in``
query, applies the statements in memory in order and writes them in one transaction; it
must answer exactly what the statement-by-statement path (and MongoDB) answers. The
semantic tests below hold on real MongoDB too; the one-transaction test is FerretDB's only
(MongoDB promises no such thing, and nothing may rely on it).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from bson import ObjectId
from pymongo import AsyncMongoClient, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from .conftest import is_ferretdb

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

Doc = dict[str, Any]


async def test_statements_apply_in_order_with_guards_repeats_and_upserts(
    db: AsyncDatabase[Doc],
) -> None:
    oid = ObjectId()
    await db.items.insert_many(
        [{"_id": "a", "n": 1, "tag": "x"}, {"_id": "b", "n": 1}, {"_id": oid, "n": 5}]
    )
    r = await db.items.bulk_write(
        [
            UpdateOne({"_id": "a"}, {"$inc": {"n": 1}}),
            UpdateOne({"_id": "a", "n": 2}, {"$inc": {"n": 10}}),  # sees the first statement
            UpdateOne({"_id": "b", "tag": "x"}, {"$inc": {"n": 1}}),  # guard fails: no match
            UpdateOne({"_id": "new"}, {"$inc": {"n": 1}}, upsert=True),  # inserted
            UpdateOne({"_id": "new"}, {"$inc": {"n": 1}}, upsert=True),  # then updated
            UpdateOne({"_id": oid}, {"$set": {"n": 5}}),  # matched, not modified
            UpdateOne({"_id": "gone"}, {"$set": {"n": 1}}),  # no such document
        ],
        ordered=False,
    )
    assert (r.matched_count, r.modified_count, r.upserted_count) == (4, 3, 1)
    assert r.upserted_ids == {3: "new"}
    docs = {d["_id"]: d for d in await db.items.find({}).to_list(None)}
    assert docs["a"]["n"] == 12 and docs["b"]["n"] == 1 and docs["new"]["n"] == 2
    assert docs[oid]["n"] == 5 and "gone" not in docs


async def test_an_upsert_of_an_existing_id_that_does_not_match_is_a_duplicate_key(
    db: AsyncDatabase[Doc],
) -> None:
    await db.items.insert_one({"_id": "a", "v": 1})
    with pytest.raises(BulkWriteError) as e:
        await db.items.bulk_write(
            [
                UpdateOne({"_id": "b"}, {"$set": {"v": 1}}, upsert=True),
                UpdateOne({"_id": "a", "v": 2}, {"$set": {"v": 3}}, upsert=True),
                UpdateOne({"_id": "c"}, {"$set": {"v": 1}}, upsert=True),
            ],
            ordered=False,
        )
    errors = e.value.details["writeErrors"]
    assert [(err["index"], err["code"]) for err in errors] == [(1, 11000)]
    assert await db.items.count_documents({}) == 3  # b and c upserted, a unchanged
    assert (await db.items.find_one({"_id": "a"}) or {})["v"] == 1


async def test_a_unique_key_failure_names_its_statement_and_the_others_apply(
    db: AsyncDatabase[Doc],
) -> None:
    await db.items.create_index("email", unique=True)
    await db.items.insert_many(
        [{"_id": "a", "email": "a@x", "n": 0}, {"_id": "b", "email": "b@x", "n": 0}]
    )
    with pytest.raises(BulkWriteError) as e:
        await db.items.bulk_write(
            [
                UpdateOne({"_id": "a"}, {"$inc": {"n": 1}}),
                UpdateOne({"_id": "b"}, {"$set": {"email": "a@x"}}),  # taken by a
                UpdateOne({"_id": "b"}, {"$inc": {"n": 1}}),
            ],
            ordered=False,
        )
    assert [(err["index"], err["code"]) for err in e.value.details["writeErrors"]] == [(1, 11000)]
    docs = {d["_id"]: d for d in await db.items.find({}).to_list(None)}
    assert docs["a"]["n"] == 1 and docs["b"] == {"_id": "b", "email": "b@x", "n": 1}


async def test_an_ordered_bulk_stops_at_its_failing_statement(db: AsyncDatabase[Doc]) -> None:
    await db.items.create_index("email", unique=True)
    await db.items.insert_many([{"_id": "a", "email": "a@x"}, {"_id": "b", "email": "b@x"}])
    with pytest.raises(BulkWriteError) as e:
        await db.items.bulk_write(
            [
                UpdateOne({"_id": "a"}, {"$set": {"n": 1}}),
                UpdateOne({"_id": "b"}, {"$set": {"email": "a@x"}}),
                UpdateOne({"_id": "c"}, {"$set": {"n": 1}}, upsert=True),
            ]
        )
    assert [err["index"] for err in e.value.details["writeErrors"]] == [1]
    assert (await db.items.find_one({"_id": "a"}) or {}).get("n") == 1
    assert await db.items.find_one({"_id": "c"}) is None


async def test_a_reader_never_sees_the_bulk_half_applied(
    mongo: AsyncMongoClient[Doc], db: AsyncDatabase[Doc]
) -> None:
    """One commit for the whole bulk: concurrent counts see none or all of it. Statement by
    statement (unpatched), counts in between are all but certain over 2,000 statements."""
    if not await is_ferretdb(mongo):
        pytest.skip("one transaction per bulk is the patched store's behaviour, not MongoDB's")
    n = 2000
    await db.items.insert_many([{"_id": f"i{i}", "done": False} for i in range(n)])
    seen: set[int] = set()
    finished = asyncio.Event()

    async def count() -> None:
        while not finished.is_set():
            seen.add(await db.items.count_documents({"done": True}))

    counter = asyncio.create_task(count())
    r = await db.items.bulk_write(
        [UpdateOne({"_id": f"i{i}"}, {"$set": {"done": True}}) for i in range(n)], ordered=False
    )
    finished.set()
    await counter
    seen.add(await db.items.count_documents({"done": True}))
    assert r.modified_count == n
    assert seen <= {0, n}, sorted(seen)[:10]
