"""A unique index refuses an update that would duplicate a key, atomically.

MongoDB raises ``DuplicateKeyError`` (code 11000) for inserts and updates alike. FerretDB
1.24 (SQLite backend) refuses the update just as atomically but reports it as code 1
"UNIQUE constraint failed" (its inserts do say 11000). The forum's group renames rely on the
refusal, and recognise both answers in one place: ``forum.adapters.mongo.is_duplicate_key``.
A store patch that maps the update case to 11000 turns the second answer into dead code; this
test then still passes.
"""

from __future__ import annotations

from typing import Any

import pytest
from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from forum.adapters.mongo import is_duplicate_key

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_duplicate_insert_and_update_are_refused(db: AsyncDatabase[dict[str, Any]]) -> None:
    await db.g.create_index([("k", ASCENDING)], unique=True, sparse=True)
    await db.g.insert_many([{"_id": "old"}, {"_id": "a", "k": "x"}, {"_id": "b", "k": "y"}])
    with pytest.raises(DuplicateKeyError):
        await db.g.insert_one({"_id": "c", "k": "x"})
    with pytest.raises(PyMongoError) as e:
        await db.g.update_one({"_id": "b"}, {"$set": {"k": "x", "other": 1}})
    assert is_duplicate_key(e.value), e.value
    assert await db.g.find_one({"_id": "b"}) == {"_id": "b", "k": "y"}  # nothing applied
    # a document without the key (sparse) takes a free one, and not a taken one
    await db.g.update_one({"_id": "old"}, {"$set": {"k": "z"}})
    with pytest.raises(PyMongoError) as e2:
        await db.g.update_one({"_id": "old"}, {"$set": {"k": "y"}})
    assert is_duplicate_key(e2.value)
    assert sorted(d["k"] for d in await db.g.find().to_list(None)) == ["x", "y", "z"]
