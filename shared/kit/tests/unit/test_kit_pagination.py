"""communitykit.pagination: the cursor codec and keyset paging (in-memory collection, no I/O)."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from communitykit.pagination import (
    InvalidCursorError,
    binding,
    decode_cursor,
    encode_cursor,
    page,
)
from communitykit.problems import InvalidInputError

Doc = dict[str, Any]


def test_round_trip_of_plain_values_and_timestamps() -> None:
    t = datetime(2026, 11, 23, 10, 0, 0, 123000, tzinfo=UTC)
    b = binding("things", {"a": 1}, "created_at")
    for position in [(t, "abc"), (7, "x"), (None, "y"), (2.5, "z"), ("s", 3)]:
        assert decode_cursor(encode_cursor(position, bound_to=b), bound_to=b) == position
    three = ("2026-11-23T10:00:00+00:00", "e1", 4)
    assert decode_cursor(encode_cursor(three, bound_to=b), bound_to=b, size=3) == three


def test_cursor_is_url_safe_and_opaque() -> None:
    c = encode_cursor(("a/b+c?", "x" * 40), bound_to=binding("q"))
    assert "=" not in c and all(ch.isalnum() or ch in "-_" for ch in c)


def test_binding_ignores_dict_key_order_but_not_values() -> None:
    assert binding("c", {"a": 1, "b": 2}, "s") == binding("c", {"b": 2, "a": 1}, "s")
    assert binding("c", {"a": 1}, "s") != binding("c", {"a": 2}, "s")
    assert binding("c", {"a": 1}, "s") != binding("c", {"a": 1}, "t")
    assert binding("c", {}, "s", True) != binding("c", {}, "s", False)


def _b64(obj: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(obj)).decode().rstrip("=")


B = binding("q")


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "!!!",
        "e30",  # {}
        "WzEsMiwzXQ",  # [1, 2, 3]
        "bnVsbA",  # null
        "W3siJGd0IjoiIn0sIngiXQ",  # [{"$gt": ""}, "x"]: the old two-element format
        _b64([1, B, [{"$gt": ""}, "x"]]),  # an operator where a value goes
        _b64([1, B, [{"t": "not a time"}, "x"]]),
        _b64([1, B, [["nested"], "x"]]),
        _b64([1, B, [True, "x"]]),
        _b64([1, B, ["only one"]]),
        _b64([2, B, ["a", "x"]]),  # a version we do not know
        _b64([1, 5, ["a", "x"]]),
        "x" * 1001,
    ],
)
def test_garbage_is_invalid_input_naming_cursor(garbage: str) -> None:
    with pytest.raises(InvalidCursorError) as e:
        decode_cursor(garbage, bound_to=B)
    assert isinstance(e.value, InvalidInputError) and e.value.status == 422
    assert e.value.field == "cursor" and "not one this API issued" in e.value.detail


def test_cursor_of_another_query_is_refused_with_a_clear_detail() -> None:
    c = encode_cursor(("a", "x"), bound_to=binding("ideas", {"status": "new"}, "votes"))
    with pytest.raises(InvalidCursorError) as e:
        decode_cursor(c, bound_to=binding("ideas", {"status": "new"}, "created_at"))
    assert e.value.status == 422 and e.value.field == "cursor"
    assert "different query" in e.value.detail and "sort" in e.value.detail


# --- page() over an in-memory collection that evaluates the query shapes page() issues ---


def _match(doc: Doc, query: Doc) -> bool:
    for field, cond in query.items():
        v = doc.get(field)
        if isinstance(cond, dict):
            for op, arg in cond.items():
                if v is None or arg is None:
                    return False
                if (op == "$lt" and not v < arg) or (op == "$gt" and not v > arg):
                    return False
        elif v != cond:
            return False
    return True


class _Find:
    def __init__(self, docs: list[Doc]) -> None:
        self.docs = docs

    def sort(self, order: list[tuple[str, int]]) -> _Find:
        for field, direction in reversed(order):
            self.docs.sort(key=lambda d: d[field], reverse=direction < 0)
        return self

    def limit(self, n: int) -> _Find:
        self.docs = self.docs[:n]
        return self

    async def to_list(self, _: None) -> list[Doc]:
        return [dict(d) for d in self.docs]


class FakeCollection:
    def __init__(self, name: str, docs: list[Doc]) -> None:
        self.name = name
        self.docs = docs
        self.finds: list[Doc] = []

    def find(self, query: Doc, projection: Doc | None = None) -> _Find:
        self.finds.append(query)
        return _Find([d for d in self.docs if _match(d, query)])


T0 = datetime(2026, 12, 1, tzinfo=UTC)


def _things(n: int) -> list[Doc]:
    # scores with ties, so the _id tie-break matters
    return [
        {"_id": f"t{i:03d}", "kind": "a" if i % 3 else "b", "score": i // 4, "at": T0}
        for i in range(n)
    ]


async def _all(coll: FakeCollection, query: Doc, **kw: Any) -> list[str]:
    seen: list[str] = []
    cursor = None
    while True:
        docs, cursor = await page(coll, query, cursor=cursor, **kw)  # type: ignore[arg-type]
        seen += [d["_id"] for d in docs]
        if cursor is None:
            return seen


@pytest.mark.parametrize("descending", [True, False])
@pytest.mark.parametrize("sort", ["score", "_id"])
def test_pages_cover_the_list_once_in_order(sort: str, descending: bool) -> None:
    coll = FakeCollection("things", _things(23))
    got = asyncio.run(_all(coll, {"kind": "a"}, sort=sort, limit=4, descending=descending))
    want = sorted(
        (d for d in coll.docs if d["kind"] == "a"),
        key=lambda d: (d[sort], d["_id"]),
        reverse=descending,
    )
    assert got == [d["_id"] for d in want]


def test_keep_skips_items_and_still_fills_pages() -> None:
    coll = FakeCollection("things", _things(30))
    for d in coll.docs[::2]:
        d["hidden"] = True
    first, cursor = asyncio.run(
        page(coll, {}, sort="score", limit=5, cursor=None, keep=lambda d: "hidden" not in d)  # type: ignore[arg-type]
    )
    assert len(first) == 5 and cursor is not None
    assert all("hidden" not in d for d in first)


def test_an_insert_between_pages_neither_duplicates_nor_skips() -> None:
    coll = FakeCollection("things", _things(12))
    first, cursor = asyncio.run(page(coll, {}, sort="score", limit=5, cursor=None))  # type: ignore[arg-type]
    # a new row sorting before the cursor (newest first: it is "above" page 1) and one after
    coll.docs.append({"_id": "new-top", "kind": "a", "score": 99, "at": T0})
    coll.docs.append({"_id": "new-low", "kind": "a", "score": -1, "at": T0})
    rest: list[str] = []
    while cursor is not None:
        docs, cursor = asyncio.run(page(coll, {}, sort="score", limit=5, cursor=cursor))  # type: ignore[arg-type]
        rest += [d["_id"] for d in docs]
    ids = [d["_id"] for d in first] + rest
    assert len(ids) == len(set(ids)) == 13  # all 12 old rows once, plus the new low one
    assert "new-top" not in ids and ids[-1] == "new-low"


def test_a_cursor_replayed_under_other_filters_or_sort_is_refused() -> None:
    coll = FakeCollection("things", _things(12))
    _, cursor = asyncio.run(page(coll, {"kind": "a"}, sort="score", limit=2, cursor=None))  # type: ignore[arg-type]
    assert cursor is not None
    for query, kw in [
        ({"kind": "b"}, {"sort": "score"}),
        ({"kind": "a"}, {"sort": "_id"}),
        ({"kind": "a"}, {"sort": "score", "descending": False}),
        ({"kind": "a"}, {"sort": "score", "scope": {"tag": "x"}}),
    ]:
        with pytest.raises(InvalidCursorError, match="different query"):
            asyncio.run(page(coll, query, limit=2, cursor=cursor, **kw))  # type: ignore[arg-type]
    other = FakeCollection("others", _things(12))
    with pytest.raises(InvalidCursorError, match="different query"):
        asyncio.run(page(other, {"kind": "a"}, sort="score", limit=2, cursor=cursor))  # type: ignore[arg-type]
    # the page size may change between pages
    docs, _ = asyncio.run(page(coll, {"kind": "a"}, sort="score", limit=3, cursor=cursor))  # type: ignore[arg-type]
    assert len(docs) == 3


def test_timestamps_as_sort_values() -> None:
    docs = [{"_id": f"d{i}", "at": T0 + timedelta(seconds=i // 2)} for i in range(9)]
    coll = FakeCollection("things", docs)
    got = asyncio.run(_all(coll, {}, sort="at", limit=2, descending=False))
    assert got == [d["_id"] for d in docs]
