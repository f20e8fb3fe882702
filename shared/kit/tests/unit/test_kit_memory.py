"""communitykit.memory: the in-memory collection answers bulk writes as PyMongo does."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from bson.errors import InvalidDocument
from pymongo import InsertOne, UpdateOne
from pymongo.errors import BulkWriteError

from communitykit.memory import MemoryDatabase


def test_bulk_write_counts_inserts_matches_and_upserts() -> None:
    coll = MemoryDatabase()["c"]
    asyncio.run(coll.insert_one({"_id": "a", "v": 1}))
    ops = [
        InsertOne({"_id": "b", "v": 1}),
        UpdateOne({"_id": "a", "v": 1}, {"$set": {"v": 2}}),  # matches
        UpdateOne({"_id": "a", "v": 1}, {"$set": {"v": 3}}),  # lost its guard: no match
        UpdateOne({"_id": "c"}, {"$inc": {"n": 1}}, upsert=True),
    ]
    result = asyncio.run(coll.bulk_write(ops, ordered=False))
    assert (result.inserted_count, result.matched_count, result.upserted_count) == (1, 1, 1)
    assert coll.docs == {
        "a": {"_id": "a", "v": 2},
        "b": {"_id": "b", "v": 1},
        "c": {"_id": "c", "n": 1},
    }


def test_unordered_bulk_write_with_a_duplicate_reports_what_applied() -> None:
    coll = MemoryDatabase()["c"]
    asyncio.run(coll.insert_one({"_id": "a", "v": 1}))
    ops = [
        InsertOne({"_id": "a"}),
        InsertOne({"_id": "b"}),
        UpdateOne({"_id": "a"}, {"$max": {"v": 5}}),
    ]
    with pytest.raises(BulkWriteError) as err:
        asyncio.run(coll.bulk_write(ops, ordered=False))
    details = err.value.details
    assert [e["index"] for e in details["writeErrors"]] == [0]
    assert details["writeErrors"][0]["code"] == 11000
    assert (details["nInserted"], details["nMatched"]) == (1, 1)
    assert coll.docs["a"]["v"] == 5  # unordered: the statements after the error ran


def test_ordered_bulk_write_stops_at_the_first_error() -> None:
    coll = MemoryDatabase()["c"]
    asyncio.run(coll.insert_one({"_id": "a"}))
    with pytest.raises(BulkWriteError) as err:
        asyncio.run(coll.bulk_write([InsertOne({"_id": "a"}), InsertOne({"_id": "b"})]))
    assert err.value.details["nInserted"] == 0
    assert "b" not in coll.docs


def test_find_with_an_exclusion_projection_and_a_sort_by_several_keys() -> None:
    coll = MemoryDatabase()["c"]
    for i, (k, n) in enumerate([("x", 2), ("y", 1), ("x", 1)]):
        asyncio.run(coll.insert_one({"_id": i, "k": k, "n": n, "outbox": [1]}))
    docs = asyncio.run(coll.find({}, {"outbox": 0}).sort([("k", 1), ("n", -1)]).to_list(None))
    assert [d["_id"] for d in docs] == [0, 2, 1]
    assert all("outbox" not in d for d in docs)


def test_find_by_id_in_a_list() -> None:
    coll = MemoryDatabase()["c"]
    for i in range(5):
        asyncio.run(coll.insert_one({"_id": i, "even": i % 2 == 0}))
    got = asyncio.run(coll.find({"_id": {"$in": [4, 1, 9, 4]}, "even": True}).to_list(None))
    assert [d["_id"] for d in got] == [4]
    assert asyncio.run(coll.count_documents({"_id": {"$in": [0, 1, 2]}})) == 3


def test_unordered_insert_many_inserts_all_but_the_duplicates_and_says_which() -> None:
    coll = MemoryDatabase()["c"]
    asyncio.run(coll.insert_one({"_id": "b"}))
    with pytest.raises(BulkWriteError) as err:
        asyncio.run(coll.insert_many([{"_id": "a"}, {"_id": "b"}, {"_id": "c"}], ordered=False))
    assert [e["index"] for e in err.value.details["writeErrors"]] == [1]
    assert err.value.details["nInserted"] == 2
    assert sorted(coll.docs) == ["a", "b", "c"]
    with pytest.raises(BulkWriteError) as err:
        asyncio.run(coll.insert_many([{"_id": "d"}, {"_id": "a"}, {"_id": "e"}]))
    assert err.value.details["nInserted"] == 1
    assert "e" not in coll.docs  # ordered: stopped at the duplicate


def test_the_stored_form_keeps_values_as_the_server_returns_them() -> None:
    """Milliseconds, aware UTC datetimes, lists for tuples: what a projection reads back from
    the store, and so what it compares and folds during a rebuild."""
    coll = MemoryDatabase(stored_form=True)["c"]
    at = datetime(2026, 12, 7, 10, 0, 0, 123456, tzinfo=UTC)
    asyncio.run(coll.insert_one({"_id": "a", "at": at, "pair": ("x", 1), "sub": {"k": [1]}}))
    doc = asyncio.run(coll.find_one({"_id": "a"}))
    assert doc is not None
    assert doc["at"] == at.replace(microsecond=123000)
    assert doc["at"].utcoffset() == timedelta(0)
    assert doc["pair"] == ["x", 1]
    doc["sub"]["k"].append(2)  # a copy: the stored document does not move
    assert coll.docs["a"]["sub"] == {"k": [1]}
    # updates and filters are what the server receives: the same millisecond truncation
    later = at + timedelta(microseconds=500)  # same millisecond as ``at``
    asyncio.run(coll.update_one({"_id": "a"}, {"$max": {"at": later}, "$set": {"t": (1, 2)}}))
    assert coll.docs["a"]["at"] == at.replace(microsecond=123000)
    assert coll.docs["a"]["t"] == [1, 2]
    assert asyncio.run(coll.count_documents({"at": {"$gte": later}})) == 1
    # the default form (unit tests) keeps the Python values as given
    plain = MemoryDatabase()["c"]
    asyncio.run(plain.insert_one({"_id": "a", "at": at}))
    assert plain.docs["a"]["at"] == at


def test_the_stored_form_refuses_what_bson_cannot_hold() -> None:
    coll = MemoryDatabase(stored_form=True)["c"]
    with pytest.raises(InvalidDocument):
        asyncio.run(coll.insert_one({"_id": "a", "s": {1, 2}}))


def test_create_index_calls_are_recorded_with_their_options() -> None:
    db = MemoryDatabase()
    asyncio.run(db["c"].create_index([("t", 1)]))
    asyncio.run(db["c"].create_index([("u", 1), ("k", -1)], unique=True, name="uk"))
    assert db["c"].indexes == [
        ([("t", 1)], {}),
        ([("u", 1), ("k", -1)], {"unique": True, "name": "uk"}),
    ]


@pytest.mark.parametrize("stored_form", [False, True])
def test_a_caller_changing_what_it_wrote_does_not_change_the_stored_document(
    stored_form: bool,
) -> None:
    coll = MemoryDatabase(stored_form=stored_form)["c"]
    value = {"k": [1]}
    asyncio.run(coll.update_one({"_id": "a"}, {"$set": {"v": value}}, upsert=True))
    asyncio.run(coll.update_one({"_id": "a"}, {"$push": {"l": value}, "$addToSet": {"s": value}}))
    value["k"].append(2)
    assert coll.docs["a"] == {"_id": "a", "v": {"k": [1]}, "l": [{"k": [1]}], "s": [{"k": [1]}]}
