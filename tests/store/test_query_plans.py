"""Hot-path queries are index lookups on the embedded store (FerretDB patches 0003-0004, 0005+).

Read through FerretDB's ``explain`` command: for the SQLite backend it returns SQLite's
``EXPLAIN QUERY PLAN`` rows under ``queryPlanner.Plan`` and whether the filter, the sort and
the limit were pushed down to SQL (``filterPushdown``, ``sortPushdown``, ``limitPushdown``).
A table SCAN or a ``USE TEMP B-TREE FOR ORDER BY`` is what these tests rule out.

Real MongoDB has no such plan format (and needs none of the patches): skipped there.
"""

from __future__ import annotations

from typing import Any

import pytest
import pytest_asyncio
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from .conftest import is_ferretdb

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

Doc = dict[str, Any]


@pytest_asyncio.fixture(loop_scope="session", autouse=True)
async def _only_ferretdb(mongo: AsyncMongoClient[Doc]) -> None:
    if not await is_ferretdb(mongo):
        pytest.skip("the plan format and pushdown flags are FerretDB's (SQLite backend) only")


async def explain(
    db: AsyncDatabase[Doc],
    coll: str,
    filter: Doc,
    sort: Doc | None = None,
    limit: int = 0,
) -> Doc:
    cmd: Doc = {"find": coll, "filter": filter}
    if sort:
        cmd["sort"] = sort
    if limit:
        cmd["limit"] = limit
    res: Doc = await db.command("explain", cmd)
    return res


def plan_of(res: Doc) -> str:
    return "\n".join(res["queryPlanner"]["Plan"])


def assert_index_search(res: Doc, index_fragment: str) -> None:
    plan = plan_of(res)
    assert "SCAN" not in plan.replace("SCAN CONSTANT", ""), plan
    assert "SEARCH" in plan and "INDEX" in plan, plan
    assert index_fragment in plan, plan
    assert res["filterPushdown"] is True, res


T42 = {"_id": "t42", "version": 2, "outbox": {"e1": {"seq": 1}}}


@pytest.mark.parametrize(
    ("filter", "found"),
    [
        ({"_id": "t42"}, True),
        ({"_id": "t42", "version": 2}, True),
        ({"_id": "t42", "version": 3}, False),
        ({"_id": "t42", "outbox.e1": {"$exists": True}}, True),
        ({"_id": "t42", "outbox.e2": {"$exists": True}}, False),
        ({"version": 2, "_id": "t42"}, True),
    ],
    ids=["id", "id+version", "id+other-version", "id+exists", "id+not-exists", "version+id"],
)
async def test_id_filters_use_the_id_index(
    db: AsyncDatabase[Doc], filter: Doc, found: bool
) -> None:
    await db.threads.insert_many(
        [T42 if i == 42 else {"_id": f"t{i}", "version": i % 5} for i in range(50)]
    )
    assert_index_search(await explain(db, "threads", filter), "__id_")
    # the pushed-down query still answers exactly like MongoDB
    assert await db.threads.find(filter).to_list(None) == ([T42] if found else [])
