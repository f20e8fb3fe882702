"""communitykit.idempotency against the real store: the unique ``_id`` decides races."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from pymongo import ASCENDING, AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from communitykit.idempotency import Idempotency, IdempotencyKeyReusedError, insert_once

from ...conftest import RUN_ID

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

Doc = dict[str, Any]


@pytest_asyncio.fixture(loop_scope="session")
async def db(mongo: AsyncMongoClient[Doc]) -> AsyncIterator[AsyncDatabase[Doc]]:
    database = mongo[f"t{RUN_ID}idem_{uuid.uuid4().hex[:6]}"]
    yield database
    await mongo.drop_database(database.name)


async def test_concurrent_identical_creates_make_one_document(db: AsyncDatabase[Doc]) -> None:
    coll = db["things"]
    idem = Idempotency.of("things", "u1", "retry-me", {"title": "x"})
    assert idem is not None

    async def create() -> Any:
        doc = {"_id": idem.id(), "title": "x"}
        return await insert_once(coll, idem, doc, status=201, body={"thing_id": idem.id()})

    results = await asyncio.gather(*(create() for _ in range(8)))
    assert {(r.status, r.body["thing_id"]) for r in results} == {(201, idem.id())}
    assert sum(not r.replayed for r in results) == 1  # exactly one insert won
    assert await coll.count_documents({}) == 1
    stored = await coll.find_one({"_id": idem.id()})
    assert stored is not None and stored["idem"]["body"] == {"thing_id": idem.id()}


async def test_concurrent_different_bodies_one_wins_others_422(db: AsyncDatabase[Doc]) -> None:
    coll = db["things"]
    reqs = [Idempotency.of("things", "u1", "same-key", {"title": str(i)}) for i in range(6)]

    async def create(i: int) -> Any:
        idem = reqs[i]
        assert idem is not None
        try:
            return await insert_once(
                coll, idem, {"_id": idem.id(), "title": str(i)}, status=201, body={"i": i}
            )
        except IdempotencyKeyReusedError as e:
            return e

    results = await asyncio.gather(*(create(i) for i in range(6)))
    won = [r for r in results if not isinstance(r, Exception)]
    assert len(won) == 1 and not won[0].replayed
    assert all(isinstance(r, IdempotencyKeyReusedError) for r in results if r is not won[0])
    doc = await coll.find_one({})
    assert doc is not None and doc["title"] == str(won[0].body["i"])
    assert await coll.count_documents({}) == 1


async def test_users_do_not_share_keys_and_other_unique_keys_surface(
    db: AsyncDatabase[Doc],
) -> None:
    coll = db["named"]
    await coll.create_index([("name_key", ASCENDING)], unique=True)
    a = Idempotency.of("named", "alice", "k", {"name": "Cats"})
    b = Idempotency.of("named", "bob", "k", {"name": "Dogs"})
    assert a is not None and b is not None and a.id() != b.id()
    await insert_once(coll, a, {"_id": a.id(), "name_key": "cats"}, status=201, body={"n": 1})
    out = await insert_once(coll, b, {"_id": b.id(), "name_key": "dogs"}, status=201, body={})
    assert not out.replayed
    c = Idempotency.of("named", "carol", "k", {"name": "CATS"})
    assert c is not None
    with pytest.raises(DuplicateKeyError):  # the name, not the key: the caller's 409
        await insert_once(coll, c, {"_id": c.id(), "name_key": "cats"}, status=201, body={})
