"""A unique index refuses an update that would duplicate a key: DuplicateKey 11000 (patch 0013).

MongoDB answers code 11000 (pymongo ``DuplicateKeyError``) for inserts, updates, replacements,
upserts and findAndModify alike, and the write is refused atomically. FerretDB 1.24 (SQLite
backend) refused the update just as atomically but answered code 1 "UNIQUE constraint failed"
(a plain ``OperationFailure``); its inserts did say 11000. In an ``update`` command of several
statements MongoDB reports each refused statement as a write error with its own index, counts
the others, and goes on past it unless the command is ordered. All of this also runs on
MongoDB.
"""

from __future__ import annotations

from typing import Any

import pytest
from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

Doc = dict[str, Any]


async def keyed(db: AsyncDatabase[Doc]) -> AsyncCollection[Doc]:
    await db.g.create_index([("k", ASCENDING)], unique=True, sparse=True)
    await db.g.insert_many([{"_id": "a", "k": "x"}, {"_id": "b", "k": "y"}, {"_id": "c", "k": "z"}])
    return db.g


def is_duplicate_key(e: DuplicateKeyError, db: AsyncDatabase[Doc]) -> None:
    assert e.code == 11000, e.details
    assert str(e).startswith(f"E11000 duplicate key error collection: {db.name}.g"), e.details


async def contents(g: AsyncCollection[Doc]) -> list[Doc]:
    return await g.find().sort("_id", ASCENDING).to_list(None)


async def test_an_update_to_a_taken_key_is_a_duplicate_key_error(db: AsyncDatabase[Doc]) -> None:
    g = await keyed(db)
    before = await contents(g)
    with pytest.raises(DuplicateKeyError) as e:
        await g.insert_one({"_id": "d", "k": "x"})
    is_duplicate_key(e.value, db)
    with pytest.raises(DuplicateKeyError) as e:
        await g.update_one({"_id": "b"}, {"$set": {"k": "x", "other": 1}})
    is_duplicate_key(e.value, db)
    with pytest.raises(DuplicateKeyError) as e:
        await g.replace_one({"_id": "b"}, {"k": "x"})
    is_duplicate_key(e.value, db)
    with pytest.raises(DuplicateKeyError) as e:
        await g.update_many({"_id": {"$in": ["b", "c"]}}, {"$set": {"k": "x"}})
    is_duplicate_key(e.value, db)
    with pytest.raises(DuplicateKeyError) as e:
        await g.find_one_and_update({"_id": "b"}, {"$set": {"k": "x"}})
    is_duplicate_key(e.value, db)
    assert await contents(g) == before  # nothing applied


async def test_an_upsert_of_a_taken_key_is_a_duplicate_key_error(db: AsyncDatabase[Doc]) -> None:
    g = await keyed(db)
    before = await contents(g)
    with pytest.raises(DuplicateKeyError) as e:
        await g.update_one({"_id": "n"}, {"$set": {"k": "x"}}, upsert=True)
    is_duplicate_key(e.value, db)
    with pytest.raises(DuplicateKeyError) as e:
        await g.find_one_and_update({"_id": "n"}, {"$set": {"k": "y"}}, upsert=True)
    is_duplicate_key(e.value, db)
    assert await contents(g) == before


async def test_a_document_without_the_key_takes_a_free_one_not_a_taken_one(
    db: AsyncDatabase[Doc],
) -> None:
    g = await keyed(db)
    await g.insert_one({"_id": "old"})  # sparse: no key, no entry
    await g.update_one({"_id": "old"}, {"$set": {"k": "w"}})
    with pytest.raises(DuplicateKeyError) as e:
        await g.update_one({"_id": "old"}, {"$set": {"k": "y"}})
    is_duplicate_key(e.value, db)
    assert sorted(d["k"] for d in await contents(g)) == ["w", "x", "y", "z"]


STATEMENTS = [
    UpdateOne({"_id": "a"}, {"$set": {"v": 1}}),
    UpdateOne({"_id": "b"}, {"$set": {"k": "x"}}),  # taken by a
    UpdateOne({"_id": "c"}, {"$set": {"v": 2}}),
    UpdateOne({"_id": "c"}, {"$set": {"k": "y"}}),  # taken by b
    UpdateOne({"_id": "n"}, {"$set": {"k": "n"}}, upsert=True),
]


def write_errors(e: BulkWriteError) -> list[tuple[int, int, bool]]:
    return [
        (w["index"], w["code"], w["errmsg"].startswith("E11000 duplicate key error"))
        for w in e.details["writeErrors"]
    ]


async def test_an_ordered_bulk_update_stops_at_the_duplicate_key(db: AsyncDatabase[Doc]) -> None:
    g = await keyed(db)
    with pytest.raises(BulkWriteError) as e:
        await g.bulk_write(STATEMENTS, ordered=True)
    assert write_errors(e.value) == [(1, 11000, True)]
    r = e.value.details
    assert (r["nMatched"], r["nModified"], r["nUpserted"]) == (1, 1, 0)
    assert await contents(g) == [
        {"_id": "a", "k": "x", "v": 1},
        {"_id": "b", "k": "y"},
        {"_id": "c", "k": "z"},
    ]


async def test_an_unordered_bulk_update_goes_on_past_duplicate_keys(
    db: AsyncDatabase[Doc],
) -> None:
    g = await keyed(db)
    with pytest.raises(BulkWriteError) as e:
        await g.bulk_write(STATEMENTS, ordered=False)
    assert write_errors(e.value) == [(1, 11000, True), (3, 11000, True)]
    r = e.value.details
    assert (r["nMatched"], r["nModified"], r["nUpserted"]) == (2, 2, 1)
    assert r["upserted"] == [{"index": 4, "_id": "n"}]
    assert await contents(g) == [
        {"_id": "a", "k": "x", "v": 1},
        {"_id": "b", "k": "y"},
        {"_id": "c", "k": "z", "v": 2},
        {"_id": "n", "k": "n"},
    ]
