"""communitykit.mongo.bulk_write: one unordered call, write errors returned, not raised."""

from __future__ import annotations

import asyncio
from typing import Any

from pymongo import InsertOne
from pymongo.errors import BulkWriteError

from communitykit.mongo import bulk_write, only_duplicates


class FakeCollection:
    def __init__(self, errors: list[dict[str, Any]] | None = None) -> None:
        self.calls: list[tuple[list[Any], bool]] = []
        self.errors = errors

    async def bulk_write(self, ops: list[Any], ordered: bool = True) -> None:
        self.calls.append((ops, ordered))
        if self.errors:
            raise BulkWriteError({"writeErrors": self.errors})


def test_one_unordered_call_for_any_number_of_ops() -> None:
    coll = FakeCollection()
    ops = [InsertOne({"_id": i}) for i in range(250)]
    assert asyncio.run(bulk_write(coll, ops)) == []  # type: ignore[arg-type]
    assert len(coll.calls) == 1 and coll.calls[0] == (ops, False)


def test_no_ops_no_call() -> None:
    coll = FakeCollection()
    assert asyncio.run(bulk_write(coll, [])) == []  # type: ignore[arg-type]
    assert coll.calls == []


def test_write_errors_are_returned_with_their_index() -> None:
    errs = [{"index": 120, "code": 11000, "errmsg": "dup"}, {"index": 7, "code": 11000}]
    coll = FakeCollection(errs)
    got = asyncio.run(bulk_write(coll, [InsertOne({"_id": i}) for i in range(200)]))  # type: ignore[arg-type]
    assert [e["index"] for e in got] == [120, 7] and only_duplicates(got)
    assert not only_duplicates([*got, {"index": 1, "code": 121}])
