"""An in-memory stand-in for the subset of PyMongo's async collection the services use.

For unit tests (no server): the same calls as ``AsyncCollection`` — ``find_one``, ``find`` (with
``sort``/``limit``/``to_list``/async iteration), ``insert_one``/``insert_many``, ``update_one``/
``update_many`` (``upsert``), ``find_one_and_update``, ``delete_one``/``delete_many``,
``count_documents`` and ``bulk_write`` of ``InsertOne``/``UpdateOne``/``UpdateMany``/
``ReplaceOne``/``DeleteOne``/``DeleteMany`` — with the query operators ``$eq $ne $gt $gte $lt
$lte $in $nin $exists $not`` on dotted paths and the update operators ``$set $unset $inc $max $min
$setOnInsert $push $addToSet``. Unique ``_id`` only. What it does not know raises
``NotImplementedError`` instead of quietly matching nothing. The integration suites prove the
same code on the real server.

``MemoryDatabase(stored_form=True)`` (what ``make rebuild`` folds a replay in) keeps every
value as the server would store and return it: documents, filters and updates go through a
BSON round trip (datetimes to the millisecond and time-zone aware in UTC, like the services'
``tz_aware`` clients; tuples become lists; what BSON cannot hold is refused as the server
would refuse it), so a projection compares and folds exactly the values it would read back
from the store. ``create_index`` calls are recorded (``indexes``) for whoever loads the
documents into a real store.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import bson
from bson.codec_options import CodecOptions
from pymongo import DeleteMany, DeleteOne, InsertOne, ReplaceOne, UpdateMany, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

Doc = dict[str, Any]
_MISSING = object()
#: how the services' clients decode (``tz_aware=True``)
_STORED: CodecOptions[Doc] = CodecOptions(tz_aware=True)


def as_stored(doc: Doc) -> Doc:
    """A fresh copy of ``doc`` as the server stores and returns it (a BSON round trip)."""
    return bson.decode(bson.encode(doc), _STORED)


def _get(doc: Mapping[str, Any], path: str) -> Any:
    cur: Any = doc
    for part in path.split("."):
        if not isinstance(cur, Mapping) or part not in cur:
            return _MISSING
        cur = cur[part]
    return cur


def _set(doc: Doc, path: str, value: Any) -> None:
    *parents, last = path.split(".")
    cur = doc
    for p in parents:
        cur = cur.setdefault(p, {})
    cur[last] = value


def _unset(doc: Doc, path: str) -> None:
    *parents, last = path.split(".")
    cur: Any = doc
    for p in parents:
        cur = cur.get(p) if isinstance(cur, dict) else None
        if cur is None:
            return
    if isinstance(cur, dict):
        cur.pop(last, None)


def _cmp(value: Any, arg: Any, test: Callable[[Any, Any], bool]) -> bool:
    if value is _MISSING or value is None:
        return False
    try:
        return test(value, arg)
    except TypeError:
        return False


def _eq(value: Any, arg: Any) -> bool:
    if value is _MISSING:
        return arg is None
    if isinstance(value, list) and not isinstance(arg, list):
        return arg in value
    return bool(value == arg)


def _in(value: Any, args: Any) -> bool:
    """``$in``: a plain stored value is compared by ``in`` (the same ``==`` as ``_eq``, at C
    speed: scans for ``{"field": {"$in": [...]}}`` stand in for the server's index)."""
    if value is not _MISSING and not isinstance(value, list):
        return value in args
    return any(_eq(value, x) for x in args)


#: query operator → does ``value`` (maybe _MISSING) satisfy it with ``arg``?
_QUERY_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "$eq": _eq,
    "$ne": lambda v, a: not _eq(v, a),
    "$gt": lambda v, a: _cmp(v, a, lambda x, y: bool(x > y)),
    "$gte": lambda v, a: _cmp(v, a, lambda x, y: bool(x >= y)),
    "$lt": lambda v, a: _cmp(v, a, lambda x, y: bool(x < y)),
    "$lte": lambda v, a: _cmp(v, a, lambda x, y: bool(x <= y)),
    "$in": lambda v, a: _in(v, a),
    "$nin": lambda v, a: not any(_eq(v, x) for x in a),
    "$exists": lambda v, a: (v is not _MISSING) == bool(a),
    "$not": lambda v, a: not _match_value(v, a),
}


def _match_value(value: Any, cond: Any) -> bool:
    if isinstance(cond, Mapping) and cond and all(str(k).startswith("$") for k in cond):
        for op, arg in cond.items():
            if op not in _QUERY_OPS:
                raise NotImplementedError(f"query operator {op}")
            if not _QUERY_OPS[op](value, arg):
                return False
        return True
    return _eq(value, cond)


def matches(doc: Mapping[str, Any], query: Mapping[str, Any]) -> bool:
    for key, cond in query.items():
        if key == "$or":
            if not any(matches(doc, q) for q in cond):
                return False
        elif key == "$and":
            if not all(matches(doc, q) for q in cond):
                return False
        elif key.startswith("$"):
            raise NotImplementedError(f"query operator {key}")
        elif not _match_value(_get(doc, key), cond):
            return False
    return True


def apply_update(
    doc: Doc, update: Mapping[str, Any], *, inserting: bool = False, fresh: bool = False
) -> None:
    """Apply ``update``'s operators to ``doc`` in place. ``fresh``: the update's values are
    this call's own (a BSON round trip made them) and are stored without another copy."""
    keep: Callable[[Any], Any] = (lambda v: v) if fresh else copy.deepcopy
    for op, fields in update.items():
        for path, arg in fields.items():
            cur = _get(doc, path)
            if op == "$set":
                _set(doc, path, keep(arg))
            elif op == "$setOnInsert":
                if inserting:
                    _set(doc, path, keep(arg))
            elif op == "$unset":
                _unset(doc, path)
            elif op == "$inc":
                _set(doc, path, (0 if cur is _MISSING else cur) + arg)
            elif op == "$max":
                _set(doc, path, arg if cur is _MISSING or cur is None or arg > cur else cur)
            elif op == "$min":
                _set(doc, path, arg if cur is _MISSING or cur is None or arg < cur else cur)
            elif op == "$push":
                items = arg["$each"] if isinstance(arg, Mapping) and "$each" in arg else [arg]
                _set(doc, path, [*(cur if isinstance(cur, list) else []), *keep(items)])
            elif op == "$addToSet":
                items = arg["$each"] if isinstance(arg, Mapping) and "$each" in arg else [arg]
                lst = list(cur) if isinstance(cur, list) else []
                lst += [keep(i) for i in items if i not in lst]
                _set(doc, path, lst)
            else:
                raise NotImplementedError(f"update operator {op}")


def _project(
    doc: Doc, projection: Mapping[str, Any] | None, fresh: Callable[[Doc], Doc] = copy.deepcopy
) -> Doc:
    if not projection:
        return fresh(doc)
    include = {k for k, v in projection.items() if v and k != "_id"}
    if include:
        out: Doc = {"_id": doc["_id"]} if projection.get("_id", 1) else {}
        for k in include:
            v = _get(doc, k)
            if v is not _MISSING:
                _set(out, k, v)
        return fresh(out)
    out = fresh(doc)
    for k, v in projection.items():
        if not v:
            _unset(out, k)
    return out


def _upsert_seed(query: Mapping[str, Any]) -> Doc:
    seed: Doc = {}
    for k, v in query.items():
        if k.startswith("$"):
            continue
        if isinstance(v, Mapping) and any(str(x).startswith("$") for x in v):
            if "$eq" in v:
                _set(seed, k, v["$eq"])
            continue
        _set(seed, k, copy.deepcopy(v))
    return seed


@dataclass
class Result:
    matched_count: int = 0
    modified_count: int = 0
    upserted_id: Any = None
    deleted_count: int = 0
    inserted_id: Any = None
    #: bulk writes: statements that inserted a document / upserted one (as PyMongo counts)
    inserted_count: int = 0
    upserted_count: int = 0


class MemoryCursor:
    def __init__(self, docs: list[Doc]) -> None:
        self._docs = docs

    def sort(self, key: Any, direction: int = 1) -> MemoryCursor:
        keys = key if isinstance(key, list) else [(key, direction)]
        for name, d in reversed(keys):
            self._docs.sort(key=_sort_by(name), reverse=d < 0)
        return self

    def skip(self, n: int) -> MemoryCursor:
        self._docs = self._docs[n:]
        return self

    def batch_size(self, n: int) -> MemoryCursor:
        """Accepted for the same calls as PyMongo's cursor; everything is in memory."""
        return self

    def limit(self, n: int) -> MemoryCursor:
        if n:
            self._docs = self._docs[:n]
        return self

    async def to_list(self, length: int | None = None) -> list[Doc]:
        """Like PyMongo's: with ``length``, the next ``length`` documents, consumed (a later
        call goes on from there)."""
        if not length:
            docs, self._docs = list(self._docs), []
            return docs
        docs, self._docs = self._docs[:length], self._docs[length:]
        return docs

    async def close(self) -> None:
        self._docs = []

    def __aiter__(self) -> AsyncIterator[Doc]:
        return self._iter()

    async def _iter(self) -> AsyncIterator[Doc]:
        for d in self._docs:
            yield d


def _sort_by(name: str) -> Callable[[Doc], tuple[int, Any]]:
    return lambda doc: _sort_key(_get(doc, name))


def _sort_key(v: Any) -> tuple[int, Any]:
    if v is _MISSING or v is None:
        return (0, 0)
    if isinstance(v, bool):
        return (1, int(v))
    if isinstance(v, (int, float)):
        return (1, v)
    if isinstance(v, str):
        return (2, v)
    return (3, v)


class MemoryCollection:
    """One collection; ``docs`` is keyed by ``_id`` (inspect it in assertions)."""

    def __init__(self, name: str = "memory", *, stored_form: bool = False) -> None:
        self.name = name
        self.full_name = f"memory.{name}"
        self.docs: dict[Any, Doc] = {}
        #: every write call, for tests that count writes
        self.writes = 0
        #: every ``create_index`` call, as (keys, options)
        self.indexes: list[tuple[Any, dict[str, Any]]] = []
        self.stored_form = stored_form
        self._copy: Callable[[Doc], Doc] = as_stored if stored_form else copy.deepcopy

    def _in(self, spec: Mapping[str, Any] | None) -> Any:
        """A filter or update as the server receives it (stored form only)."""
        return as_stored(dict(spec)) if self.stored_form and spec else spec

    # ------------------------------------------------------------------ reads
    def _select(self, query: Mapping[str, Any] | None) -> list[Doc]:
        q = query or {}
        if "_id" in q and not isinstance(q["_id"], Mapping):
            d = self.docs.get(q["_id"])
            return [d] if d is not None and matches(d, q) else []
        if "_id" in q and set(q["_id"]) == {"$in"}:  # by _id, as the server's _id index does
            rest = {k: v for k, v in q.items() if k != "_id"}
            found = (self.docs.get(i) for i in dict.fromkeys(q["_id"]["$in"]))
            return [d for d in found if d is not None and matches(d, rest)]
        return [d for d in self.docs.values() if matches(d, q)]

    async def find_one(
        self, query: Mapping[str, Any] | None = None, projection: Mapping[str, Any] | None = None
    ) -> Doc | None:
        found = self._select(self._in(query))
        return _project(found[0], projection, self._copy) if found else None

    def find(
        self, query: Mapping[str, Any] | None = None, projection: Mapping[str, Any] | None = None
    ) -> MemoryCursor:
        found = self._select(self._in(query))
        return MemoryCursor([_project(d, projection, self._copy) for d in found])

    async def count_documents(self, query: Mapping[str, Any]) -> int:
        return len(self._select(self._in(query)))

    # ------------------------------------------------------------------ writes
    async def insert_one(self, doc: Doc) -> Result:
        self.writes += 1
        doc = self._copy(doc)
        if "_id" not in doc:
            doc["_id"] = uuid.uuid4().hex
        if doc["_id"] in self.docs:
            raise DuplicateKeyError(f"duplicate _id {doc['_id']!r}", 11000)
        self.docs[doc["_id"]] = doc
        return Result(inserted_id=doc["_id"])

    async def insert_many(self, docs: Iterable[Doc], ordered: bool = True) -> Result:
        """Like PyMongo's: a ``BulkWriteError`` listing the duplicates (``index``, code
        11000); ordered stops at the first, unordered inserts all the others."""
        errors: list[Doc] = []
        n = 0
        for i, d in enumerate(docs):
            try:
                await self.insert_one(d)
                n += 1
            except DuplicateKeyError as e:
                errors.append({"index": i, "code": 11000, "errmsg": str(e)})
                if ordered:
                    break
        if errors:
            raise BulkWriteError({"writeErrors": errors, "nInserted": n})
        return Result(inserted_count=n)

    async def update_one(
        self, query: Mapping[str, Any], update: Mapping[str, Any], upsert: bool = False
    ) -> Result:
        self.writes += 1
        query, update = self._in(query), self._in(update)
        found = self._select(query)[:1]
        if found:
            apply_update(found[0], update, fresh=self.stored_form)
            return Result(matched_count=1, modified_count=1)
        if not upsert:
            return Result()
        doc = _upsert_seed(query)
        apply_update(doc, update, inserting=True, fresh=self.stored_form)
        doc.setdefault("_id", uuid.uuid4().hex)
        if doc["_id"] in self.docs:
            raise DuplicateKeyError(f"duplicate _id {doc['_id']!r}", 11000)
        self.docs[doc["_id"]] = doc
        return Result(upserted_id=doc["_id"])

    async def update_many(
        self, query: Mapping[str, Any], update: Mapping[str, Any], upsert: bool = False
    ) -> Result:
        self.writes += 1
        query, update = self._in(query), self._in(update)
        found = self._select(query)
        for d in found:
            apply_update(d, update)
        if not found and upsert:
            return await self.update_one(query, update, upsert=True)
        return Result(matched_count=len(found), modified_count=len(found))

    async def replace_one(self, query: Mapping[str, Any], doc: Doc, upsert: bool = False) -> Result:
        self.writes += 1
        query = self._in(query)
        found = self._select(query)[:1]
        if found:
            new = {**self._copy(doc), "_id": found[0]["_id"]}
            self.docs[found[0]["_id"]] = new
            return Result(matched_count=1, modified_count=1)
        if upsert:
            new = {**_upsert_seed(query), **self._copy(doc)}
            new.setdefault("_id", uuid.uuid4().hex)
            self.docs[new["_id"]] = new
            return Result(upserted_id=new["_id"])
        return Result()

    async def find_one_and_update(
        self,
        query: Mapping[str, Any],
        update: Mapping[str, Any],
        projection: Mapping[str, Any] | None = None,
        upsert: bool = False,
        return_document: bool = False,
    ) -> Doc | None:
        found = self._select(self._in(query))[:1]
        before = _project(found[0], projection, self._copy) if found else None
        res = await self.update_one(query, update, upsert=upsert)
        if not return_document:
            return before
        key = found[0]["_id"] if found else res.upserted_id
        return _project(self.docs[key], projection, self._copy) if key in self.docs else None

    async def delete_one(self, query: Mapping[str, Any]) -> Result:
        self.writes += 1
        found = self._select(self._in(query))[:1]
        for d in found:
            del self.docs[d["_id"]]
        return Result(deleted_count=len(found))

    async def delete_many(self, query: Mapping[str, Any]) -> Result:
        self.writes += 1
        found = self._select(self._in(query))
        for d in found:
            del self.docs[d["_id"]]
        return Result(deleted_count=len(found))

    async def bulk_write(self, ops: Iterable[Any], ordered: bool = True) -> Result:
        """Like PyMongo's: counts in the result, and on errors a ``BulkWriteError`` whose
        details carry ``writeErrors`` (with each failed statement's ``index``) and the counts
        of what did apply (``nInserted``, ``nMatched``, ``nModified``, ``nUpserted``)."""
        errors: list[Doc] = []
        total = Result()
        for i, op in enumerate(ops):
            doc: Any = getattr(op, "_doc", None)  # (DeleteMany has none)
            try:
                if isinstance(op, InsertOne):
                    await self.insert_one(doc)
                    total.inserted_count += 1
                    continue
                if isinstance(op, UpdateOne):
                    r = await self.update_one(op._filter, doc, upsert=bool(op._upsert))
                elif isinstance(op, UpdateMany):
                    r = await self.update_many(op._filter, doc, upsert=bool(op._upsert))
                elif isinstance(op, ReplaceOne):
                    r = await self.replace_one(op._filter, doc, upsert=bool(op._upsert))
                elif isinstance(op, DeleteOne):
                    r = await self.delete_one(op._filter)
                elif isinstance(op, DeleteMany):
                    r = await self.delete_many(op._filter)
                else:
                    raise NotImplementedError(type(op).__name__)
                total.matched_count += r.matched_count
                total.modified_count += r.modified_count
                total.deleted_count += r.deleted_count
                total.upserted_count += r.upserted_id is not None
            except DuplicateKeyError as e:
                errors.append({"index": i, "code": 11000, "errmsg": str(e)})
                if ordered:
                    break
        if errors:
            raise BulkWriteError(
                {
                    "writeErrors": errors,
                    "nInserted": total.inserted_count,
                    "nMatched": total.matched_count,
                    "nModified": total.modified_count,
                    "nUpserted": total.upserted_count,
                    "nRemoved": total.deleted_count,
                }
            )
        return total

    async def create_index(self, keys: Any, **kwargs: Any) -> str:
        """Recorded (``indexes``), not built: every query is a scan or an ``_id`` lookup."""
        self.indexes.append((keys, kwargs))
        return "memory-index"


class MemoryDatabase:
    """``db[name]`` and ``db.name`` give one :class:`MemoryCollection` per name."""

    def __init__(self, name: str = "memory", *, stored_form: bool = False) -> None:
        self.name = name
        self.stored_form = stored_form
        self._colls: dict[str, MemoryCollection] = {}

    def __getitem__(self, name: str) -> MemoryCollection:
        if name not in self._colls:
            self._colls[name] = MemoryCollection(name, stored_form=self.stored_form)
        return self._colls[name]

    def __getattr__(self, name: str) -> MemoryCollection:
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]

    async def list_collection_names(self) -> list[str]:
        return sorted(self._colls)
