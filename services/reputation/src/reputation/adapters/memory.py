"""An in-memory stand-in for the few collection methods the projection uses (the fake of
the store port): ``find`` by ``_id``/field equality or ``$in``, unordered ``bulk_write`` of
inserts and updates (``$set``, ``$unset``, ``$inc``, ``$max``, ``$addToSet``, upserts,
filters with extra equality keys), ``create_index`` as a no-op.

Used by unit tests of the projection and by the benchmark to compute a large history's
documents without a server (they are then bulk-loaded into the real store).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from pymongo import InsertOne, UpdateOne
from pymongo.errors import BulkWriteError

Doc = dict[str, Any]


@dataclass
class Result:
    matched_count: int = 0
    inserted_count: int = 0
    upserted_count: int = 0


def _get(doc: Doc, path: str) -> Any:
    cur: Any = doc
    for key in path.split("."):
        if not isinstance(cur, dict) or key not in cur:
            return None
        cur = cur[key]
    return cur


def _parent(doc: Doc, path: str) -> tuple[Doc, str]:
    *head, last = path.split(".")
    cur = doc
    for key in head:
        cur = cur.setdefault(key, {})
    return cur, last


def _matches(doc: Doc, query: Doc) -> bool:
    for key, cond in query.items():
        value = _get(doc, key)
        if isinstance(cond, dict) and "$in" in cond:
            if value not in cond["$in"]:
                return False
        elif isinstance(cond, dict):
            raise NotImplementedError(f"filter {cond!r}")
        elif value != cond:
            return False
    return True


class MemoryCollection:
    def __init__(self, name: str) -> None:
        self.name = name
        self.docs: dict[Any, Doc] = {}

    async def create_index(self, *_a: Any, **_k: Any) -> str:
        return "memory"

    def find(self, query: Doc | None = None, _fields: Doc | None = None) -> _Cursor:
        query = query or {}
        ids = query.get("_id")
        if isinstance(ids, dict) and "$in" in ids:
            pool = [self.docs[i] for i in ids["$in"] if i in self.docs]
        elif ids is not None and not isinstance(ids, dict):
            pool = [self.docs[ids]] if ids in self.docs else []
        else:
            pool = list(self.docs.values())
        # shallow copies: the projection never changes what it reads in place
        return _Cursor([dict(d) for d in pool if _matches(d, query)])

    async def find_one(self, query: Doc, _fields: Doc | None = None) -> Doc | None:
        got = self.find(query).docs
        return got[0] if got else None

    async def bulk_write(self, ops: Sequence[Any], ordered: bool = False) -> Result:
        result, errors = Result(), []
        for index, op in enumerate(ops):
            if isinstance(op, InsertOne):
                doc = op._doc
                if doc["_id"] in self.docs:
                    errors.append({"index": index, "code": 11000, "errmsg": "duplicate key"})
                    continue
                self.docs[doc["_id"]] = dict(doc)
                result.inserted_count += 1
            elif isinstance(op, UpdateOne):
                self._update(op, result)
            else:
                raise NotImplementedError(type(op).__name__)
        if errors:
            raise BulkWriteError(
                {
                    "writeErrors": errors,
                    "nMatched": result.matched_count,
                    "nInserted": result.inserted_count,
                }
            )
        return result

    def _update(self, op: UpdateOne, result: Result) -> None:
        query: Doc = dict(op._filter)
        update: Doc = dict(op._doc)  # type: ignore[arg-type]  # never a pipeline here
        doc = self.docs.get(query["_id"])
        if doc is not None and not _matches(doc, query):
            return
        if doc is None:
            if not op._upsert:
                return
            doc = {"_id": query["_id"]}
            self.docs[doc["_id"]] = doc
            result.upserted_count += 1
        else:
            result.matched_count += 1
        for path, value in update.get("$set", {}).items():
            parent, key = _parent(doc, path)
            parent[key] = value  # ops are built fresh per write
        for path in update.get("$unset", {}):
            parent, key = _parent(doc, path)
            parent.pop(key, None)
        for path, value in update.get("$inc", {}).items():
            parent, key = _parent(doc, path)
            parent[key] = parent.get(key, 0) + value
        for path, value in update.get("$max", {}).items():
            parent, key = _parent(doc, path)
            if key not in parent or parent[key] < value:
                parent[key] = value
        for path, value in update.get("$addToSet", {}).items():
            parent, key = _parent(doc, path)
            items = parent.setdefault(key, [])
            if value not in items:
                items.append(value)


class _Cursor:
    def __init__(self, docs: list[Doc]) -> None:
        self.docs = docs

    def __aiter__(self) -> AsyncIterator[Doc]:
        return self._iter()

    async def _iter(self) -> AsyncIterator[Doc]:
        for d in self.docs:
            yield d

    def sort(self, key: Any, direction: int = 1) -> _Cursor:
        keys = key if isinstance(key, list) else [(key, direction)]
        for field, how in reversed(keys):

            def by(d: Doc, f: str = field) -> Any:
                return _get(d, f) or ""

            self.docs.sort(key=by, reverse=how < 0)
        return self

    def limit(self, n: int) -> _Cursor:
        self.docs = self.docs[:n] if n else self.docs
        return self

    async def to_list(self, _n: int | None = None) -> list[Doc]:
        return self.docs


class MemoryDatabase:
    def __init__(self) -> None:
        self.collections: dict[str, MemoryCollection] = {}

    def __getitem__(self, name: str) -> MemoryCollection:
        return self.collections.setdefault(name, MemoryCollection(name))
