"""The rebuild digest: deterministic over _id order, transport fields left out, and a
service's normalisation applied (set-like arrays whose order depends on interleaving)."""

from __future__ import annotations

import asyncio
from typing import Any

from communitykit.rebuild import digest


class _Cursor:
    def __init__(self, docs: list[dict[str, Any]]) -> None:
        self.docs = docs

    def sort(self, key: str, direction: int) -> _Cursor:
        self.docs.sort(key=lambda d: d[key], reverse=direction < 0)
        return self

    def __aiter__(self) -> Any:
        async def gen() -> Any:
            for d in self.docs:
                yield d

        return gen()


class _Coll:
    def __init__(self, docs: list[dict[str, Any]]) -> None:
        self.docs = docs

    def find(self, _: dict[str, Any], projection: dict[str, int] | None) -> _Cursor:
        drop = {k for k, v in (projection or {}).items() if v == 0}
        return _Cursor([{k: v for k, v in d.items() if k not in drop} for d in self.docs])


def _db(docs: list[dict[str, Any]]) -> Any:
    return {"things": _Coll(docs)}


def run(db: Any, **kw: Any) -> dict[str, Any]:
    return asyncio.run(digest(db, ["things"], **kw))


def test_same_documents_in_any_order_and_any_outbox_digest_equally() -> None:
    a = _db([{"_id": "a", "v": 1}, {"_id": "b", "v": 2, "outbox": [1]}])
    b = _db([{"_id": "b", "v": 2, "outbox": [], "outbox_len": 0}, {"_id": "a", "v": 1}])
    assert run(a) == run(b)
    assert run(a)["things"]["count"] == 2
    assert run(a) != run(_db([{"_id": "a", "v": 1}, {"_id": "b", "v": 3}]))


def test_normalize_makes_set_like_arrays_order_free() -> None:
    a = _db([{"_id": "a", "set": ["x", "y"]}])
    b = _db([{"_id": "a", "set": ["y", "x"]}])
    assert run(a) != run(b)

    def norm(_: str, d: dict[str, Any]) -> dict[str, Any]:
        return {**d, "set": sorted(d["set"])}

    assert run(a, normalize=norm) == run(b, normalize=norm)
