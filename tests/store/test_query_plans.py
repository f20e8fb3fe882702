"""Hot-path queries are index lookups on the embedded store (FerretDB patches 0003-0011).

Read through FerretDB's ``explain`` command: for the SQLite backend it returns SQLite's
``EXPLAIN QUERY PLAN`` rows under ``queryPlanner.Plan`` and whether the filter, the sort and
the limit were pushed down to SQL (``filterPushdown``, ``sortPushdown``, ``limitPushdown``).
A table SCAN or a ``USE TEMP B-TREE FOR ORDER BY`` is what these tests rule out.

Real MongoDB has no such plan format (and needs none of the patches): skipped there.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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
    """An index lookup: every plan row reads through the named index, nothing is sorted."""
    plan = plan_of(res)
    assert "INDEX" in plan and index_fragment in plan, plan
    for row in res["queryPlanner"]["Plan"]:
        detail = row.split("detail=", 1)[1]
        assert "USING INDEX" in detail or "USING COVERING INDEX" in detail, plan
    assert "TEMP B-TREE" not in plan, plan
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
        ({"_id": {"$in": ["t42", "nope"]}}, True),
    ],
    ids=["id", "id+version", "id+other-ver", "id+exists", "id+not-exists", "version+id", "id-in"],
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


# ----------------------------------------------------------------------------- other fields

T0 = datetime(2026, 1, 1, tzinfo=UTC)
BY_CREATED = {"created_at": -1, "_id": -1}


async def threads(db: AsyncDatabase[Doc]) -> None:
    """The forum's thread list shape: compound indexes (filter, sort desc, _id desc)."""
    await db.threads.insert_many(
        [
            {
                "_id": f"t{i:04}",
                "kind": ["question", "idea", "discussion"][i % 3],
                "created_at": T0 + timedelta(minutes=i),
                "score": i % 7 - 2,
            }
            for i in range(300)
        ]
    )
    await db.threads.create_index([("kind", 1), ("created_at", -1), ("_id", -1)])
    await db.threads.create_index([("created_at", -1), ("_id", -1)])
    await db.threads.create_index([("score", -1), ("_id", -1)])


@pytest.mark.parametrize(
    ("filter", "sort", "index"),
    [
        ({"kind": "idea"}, BY_CREATED, "kind_1_created_at_-1__id_-1"),
        (
            {"kind": "idea", "created_at": {"$lt": T0 + timedelta(minutes=100)}},
            BY_CREATED,
            "kind_1_created_at_-1__id_-1",
        ),
        ({"created_at": {"$gte": T0}}, BY_CREATED, "created_at_-1__id_-1"),
        ({"score": {"$gt": 0}}, {"score": -1, "_id": -1}, "score_-1__id_-1"),
        ({"kind": "idea"}, {"created_at": 1, "_id": 1}, "kind_1_created_at_-1__id_-1"),
    ],
    ids=["eq+sort", "eq+range+sort", "range+sort", "gt0+sort", "eq+reverse-sort"],
)
async def test_filter_sort_limit_is_an_index_walk(
    db: AsyncDatabase[Doc], filter: Doc, sort: Doc, index: str
) -> None:
    await threads(db)
    res = await explain(db, "threads", filter, sort, limit=20)
    assert_index_search(res, index)
    assert (res["sortPushdown"], res["limitPushdown"]) == (True, True), res


async def test_sort_and_limit_without_filter_walk_the_index(db: AsyncDatabase[Doc]) -> None:
    await threads(db)
    res = await explain(db, "threads", {}, BY_CREATED, limit=20)
    plan = plan_of(res)
    assert "USING INDEX" in plan and "created_at_-1__id_-1" in plan, plan
    assert "TEMP B-TREE" not in plan, plan
    assert (res["sortPushdown"], res["limitPushdown"]) == (True, True), res


async def test_compound_equality_uses_the_index(db: AsyncDatabase[Doc]) -> None:
    await db.days.insert_many(
        [{"user_id": f"u{i % 50}", "day": f"2026-01-{i % 28 + 1:02}", "n": i} for i in range(500)]
    )
    await db.days.create_index([("user_id", 1), ("day", 1)])
    res = await explain(db, "days", {"user_id": "u7", "day": "2026-01-08"})
    assert_index_search(res, "user_id_1_day_1")
    assert "<expr>=? AND <expr>=? AND <expr>=? AND <expr>=?" in plan_of(res), plan_of(res)


async def test_single_field_equality_uses_the_index(db: AsyncDatabase[Doc]) -> None:
    await db.votes.insert_many([{"post_id": f"p{i % 40}", "v": 1} for i in range(400)])
    await db.votes.create_index([("post_id", 1)])
    assert_index_search(await explain(db, "votes", {"post_id": "p3"}), "post_id_1")


async def test_in_on_a_field_uses_the_index(db: AsyncDatabase[Doc]) -> None:
    await db.removals.insert_many([{"post_id": f"p{i % 40}", "v": 1} for i in range(400)])
    await db.removals.create_index([("post_id", 1)])
    res = await explain(db, "removals", {"post_id": {"$in": ["p3", "p7", "p9"]}})
    assert_index_search(res, "post_id_1")


async def test_dotted_fields_use_the_index(db: AsyncDatabase[Doc]) -> None:
    await db.users.insert_many(
        [{"_id": f"u{i}", "pm": {"k": f"2026-0{i % 3 + 1}", "pts": i % 17}} for i in range(300)]
    )
    await db.users.create_index([("pm.k", 1), ("pm.pts", -1), ("_id", -1)])
    res = await explain(db, "users", {"pm.k": "2026-02"}, {"pm.pts": -1, "_id": -1}, limit=20)
    assert_index_search(res, "pm.k_1_pm.pts_-1__id_-1")
    assert (res["sortPushdown"], res["limitPushdown"]) == (True, True), res


async def test_outbox_pending_query_uses_the_index(db: AsyncDatabase[Doc]) -> None:
    await db.outboxed.insert_many(
        [{"_id": f"d{i}", "outbox_len": 1 if i % 50 == 0 else 0} for i in range(500)]
    )
    await db.outboxed.create_index([("outbox_len", 1)], name="outbox_pending")
    res = await explain(db, "outboxed", {"outbox_len": {"$gt": 0}}, limit=100)
    assert_index_search(res, "outbox_pending")
    assert res["limitPushdown"] is True, res


async def test_array_valued_field_is_left_to_the_handler(db: AsyncDatabase[Doc]) -> None:
    """{tags: "x"} matches arrays containing "x": no index on whole values can answer it."""
    await db.threads.insert_many(
        [{"_id": f"t{i}", "tags": ["x", "y"] if i % 2 else "x"} for i in range(20)]
    )
    await db.threads.create_index([("tags", 1)])
    res = await explain(db, "threads", {"tags": "x"}, limit=5)
    assert res["filterPushdown"] is False, res
    assert len(await db.threads.find({"tags": "x"}).to_list(None)) == 20


@pytest.mark.parametrize("value", [7, 7.0, 2**40], ids=["int", "double", "long"])
async def test_numeric_id_uses_the_id_index(db: AsyncDatabase[Doc], value: Any) -> None:
    await db.nums.insert_many([{"_id": i} for i in range(1, 50)])
    assert_index_search(await explain(db, "nums", {"_id": value, "x": {"$exists": False}}), "__id_")
