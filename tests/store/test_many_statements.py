"""One update command with many statements completes (FerretDB patch 0001).

Unpatched FerretDB 1.24.2 kept every statement's query iterator, and so one pooled SQLite
connection, open until the command returned; with 100 connections in the pool, the 100th
statement waited forever and the whole database hung. The client-side timeout turns such
a hang into a failure instead of a stuck test run.
"""

from __future__ import annotations

from typing import Any

import pytest
from pymongo import AsyncMongoClient, InsertOne, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from ..servers import Servers

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


@pytest.mark.parametrize("statements", [200, 1000])
async def test_unordered_bulk_update_with_many_statements_completes(
    servers: Servers, db: AsyncDatabase[dict[str, Any]], statements: int
) -> None:
    await db.items.bulk_write([InsertOne({"_id": f"i{i}", "n": 0}) for i in range(statements)])
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(servers.mongodb, timeoutMS=60_000)
    try:
        r = await client[db.name].items.bulk_write(
            [UpdateOne({"_id": f"i{i}"}, {"$inc": {"n": 1}}) for i in range(statements)],
            ordered=False,
        )
    finally:
        await client.close()
    assert (r.matched_count, r.modified_count) == (statements, statements)
    assert await db.items.count_documents({"n": 1}) == statements
