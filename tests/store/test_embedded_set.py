"""Setting an embedded document to one with the same values under other keys applies (patch 0015).

MongoDB's ``$set`` replaces the field's value whenever the new value is not the same BSON: for
an embedded document its field names and their order count, not only its values. FerretDB
1.24 decided "unchanged" with ``types.Identical``, which compared two documents by their values
alone, so ``{"a": -1}`` → ``$set: {"f": {"b": -1}}`` was silently skipped (the document kept
``{"a": -1}``) while ``{"b": -2}`` applied. The same check serves ``$set`` on a dotted path,
``$setOnInsert``, documents inside arrays, findAndModify and bulks by ``_id`` (patch 0014).
All of this also runs on MongoDB.
"""

from __future__ import annotations

from typing import Any

import pytest
from bson import SON
from pymongo import ReturnDocument, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

Doc = dict[str, Any]


async def stored(g: AsyncCollection[Doc], _id: str) -> Doc:
    """The stored document, its embedded documents as ``SON`` so that key order is visible."""
    doc = await g.with_options(
        codec_options=g.codec_options.with_options(document_class=SON)
    ).find_one({"_id": _id})
    assert doc is not None
    return dict(doc)


def keys(d: Any) -> list[str]:
    return list(d.keys())


async def test_same_values_under_other_keys_replace_the_embedded_document(
    db: AsyncDatabase[Doc],
) -> None:
    g = db.e
    await g.insert_one({"_id": "x", "f": {"a": -1}})
    r = await g.update_one({"_id": "x"}, {"$set": {"f": {"b": -1}}})
    assert (r.matched_count, r.modified_count) == (1, 1)
    assert (await stored(g, "x"))["f"] == {"b": -1}
    # setting the very same document again is no change, as on MongoDB
    r = await g.update_one({"_id": "x"}, {"$set": {"f": {"b": -1}}})
    assert (r.matched_count, r.modified_count) == (1, 0)
    assert (await stored(g, "x"))["f"] == {"b": -1}


async def test_a_new_key_order_is_kept(db: AsyncDatabase[Doc]) -> None:
    g = db.e
    await g.insert_one({"_id": "x", "f": SON([("a", 1), ("b", 1)]), "h": SON([("a", 1), ("b", 2)])})
    r = await g.update_one(
        {"_id": "x"}, {"$set": {"f": SON([("b", 1), ("a", 1)]), "h": SON([("b", 2), ("a", 1)])}}
    )
    assert r.modified_count == 1
    doc = await stored(g, "x")
    assert keys(doc["f"]) == ["b", "a"] and keys(doc["h"]) == ["b", "a"]
    assert dict(doc["f"]) == {"a": 1, "b": 1} and dict(doc["h"]) == {"a": 1, "b": 2}


async def test_a_nested_sub_document_by_dotted_path(db: AsyncDatabase[Doc]) -> None:
    g = db.e
    await g.insert_one({"_id": "x", "p": {"q": {"r": {"a": 7}}, "s": 1}})
    r = await g.update_one({"_id": "x"}, {"$set": {"p.q.r": {"z": 7}}})
    assert r.modified_count == 1
    r = await g.update_one({"_id": "x"}, {"$set": {"p.q": {"w": {"z": 7}}}})
    assert r.modified_count == 1
    assert (await stored(g, "x"))["p"] == {"q": {"w": {"z": 7}}, "s": 1}


async def test_an_array_of_documents(db: AsyncDatabase[Doc]) -> None:
    g = db.e
    await g.insert_one({"_id": "x", "l": [{"a": 1}, {"a": 2}], "m": [{"a": 1}, {"a": 2}]})
    r = await g.update_one({"_id": "x"}, {"$set": {"l": [{"a": 1}, {"b": 2}], "m.1": {"b": 2}}})
    assert r.modified_count == 1
    doc = await stored(g, "x")
    assert doc["l"] == [{"a": 1}, {"b": 2}]
    assert doc["m"] == [{"a": 1}, {"b": 2}]


async def test_set_on_insert_find_and_modify_and_bulk_by_id(db: AsyncDatabase[Doc]) -> None:
    g = db.e
    await g.insert_many([{"_id": "x", "f": {"a": 1}}, {"_id": "y", "f": {"a": 2}}])
    # an upsert starts from the filter's equalities; $setOnInsert then sets g to other keys
    await g.update_one({"_id": "u", "g": {"a": 3}}, {"$setOnInsert": {"g": {"b": 3}}}, upsert=True)
    assert await stored(g, "u") == {"_id": "u", "g": {"b": 3}}
    after = await g.find_one_and_update(
        {"_id": "x"}, {"$set": {"f": {"c": 1}}}, return_document=ReturnDocument.AFTER
    )
    assert after == {"_id": "x", "f": {"c": 1}}
    assert (await stored(g, "x"))["f"] == {"c": 1}
    # two statements by _id: the bulk path of patch 0014
    r = await g.bulk_write(
        [
            UpdateOne({"_id": "x"}, {"$set": {"f": {"d": 1}}}),
            UpdateOne({"_id": "y"}, {"$set": {"f": {"d": 2}}}),
        ]
    )
    assert (r.matched_count, r.modified_count) == (2, 2)
    assert (await stored(g, "x"))["f"] == {"d": 1} and (await stored(g, "y"))["f"] == {"d": 2}
    # replaceOne compares whole documents with their keys (types.Compare): it always applied
    await g.replace_one({"_id": "y"}, {"e": 2})
    assert await stored(g, "y") == {"_id": "y", "e": 2}
