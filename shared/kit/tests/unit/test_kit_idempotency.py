"""communitykit.idempotency without a server: ids, fingerprints, replay and reuse rules.

The store's side (a unique ``_id`` deciding concurrent inserts) is tested against the real
server in tests/integration/kit/test_idempotency_store.py."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi import Response
from pydantic import BaseModel
from pymongo.errors import DuplicateKeyError

from communitykit.idempotency import (
    REPLAYED_HEADER,
    Created,
    Idempotency,
    IdempotencyKeyReusedError,
    fingerprint,
    insert_once,
    replay,
)
from communitykit.problems import InvalidInputError


class Cmd(BaseModel):
    title: str
    tags: list[str] = []


class FakeCollection:
    """``_id`` unique, ``name`` unique: enough of a collection for insert_once."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}

    async def insert_one(self, doc: dict[str, Any]) -> None:
        if doc["_id"] in self.docs or any(
            d.get("name") is not None and d.get("name") == doc.get("name")
            for d in self.docs.values()
        ):
            raise DuplicateKeyError("E11000 duplicate key")
        self.docs[doc["_id"]] = dict(doc)

    async def find_one(self, query: dict[str, Any], projection: Any = None) -> Any:
        return self.docs.get(query["_id"])


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_no_key_no_idempotency() -> None:
    assert Idempotency.of("s", "u", None, Cmd(title="x")) is None


def test_ids_are_deterministic_per_scope_user_key_and_part() -> None:
    a = Idempotency.of("s", "u", "k1", Cmd(title="x"))
    b = Idempotency.of("s", "u", "k1", Cmd(title="other"))
    assert a is not None and b is not None
    assert a.id() == b.id() and len(a.id()) == 32 and int(a.id(), 16) >= 0
    assert a.id("post") != a.id()
    others = [
        Idempotency.of("s", "v", "k1", Cmd(title="x")),
        Idempotency.of("t", "u", "k1", Cmd(title="x")),
        Idempotency.of("s", "u", "k2", Cmd(title="x")),
    ]
    assert all(o is not None and o.id() != a.id() for o in others)


def test_fingerprint_ignores_key_order_but_not_values() -> None:
    assert fingerprint({"a": 1, "b": [1, 2]}) == fingerprint({"b": [1, 2], "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})
    assert fingerprint(Cmd(title="x")) == fingerprint({"tags": [], "title": "x"})
    assert fingerprint({"idea_id": "i1", "cmd": Cmd(title="x")}) != fingerprint(
        {"idea_id": "i2", "cmd": Cmd(title="x")}
    )


@pytest.mark.parametrize("key", ["", "x" * 256, "naïve", "tab\there"])
def test_bad_keys_are_422_naming_the_header(key: str) -> None:
    with pytest.raises(InvalidInputError) as e:
        Idempotency.of("s", "u", key, {})
    assert e.value.field == "Idempotency-Key" and e.value.status == 422


def test_first_insert_then_replay_then_reuse_with_another_body() -> None:
    coll = FakeCollection()
    idem = Idempotency.of("s", "u", "k", Cmd(title="x"))
    assert idem is not None
    doc = {"_id": idem.id(), "title": "x"}
    first = run(insert_once(coll, idem, doc, status=201, body={"id": idem.id()}))  # type: ignore[arg-type]
    assert first == Created(201, {"id": idem.id()}, replayed=False)
    assert coll.docs[idem.id()]["idem"]["fingerprint"] == idem.fingerprint
    # a retry: the fast path and the insert race path give the same answer
    again = run(replay(coll, idem))  # type: ignore[arg-type]
    assert again == Created(201, {"id": idem.id()}, replayed=True)
    raced = run(insert_once(coll, idem, doc, status=201, body={"id": "ignored"}))  # type: ignore[arg-type]
    assert raced == again and len(coll.docs) == 1
    # same key, another body
    other = Idempotency.of("s", "u", "k", Cmd(title="y"))
    with pytest.raises(IdempotencyKeyReusedError) as e:
        run(replay(coll, other))  # type: ignore[arg-type]
    assert e.value.status == 422 and "different request" in e.value.detail
    with pytest.raises(IdempotencyKeyReusedError):
        run(insert_once(coll, other, {"_id": idem.id()}, status=201, body={}))  # type: ignore[arg-type]


def test_duplicate_of_another_unique_key_is_reraised() -> None:
    coll = FakeCollection()
    run(insert_once(coll, None, {"_id": "g1", "name": "n"}, status=201, body={}))  # type: ignore[arg-type]
    idem = Idempotency.of("s", "u", "k", {"name": "n"})
    assert idem is not None
    with pytest.raises(DuplicateKeyError):
        run(insert_once(coll, idem, {"_id": idem.id(), "name": "n"}, status=201, body={}))  # type: ignore[arg-type]


def test_keyed_insert_must_use_the_derived_id() -> None:
    idem = Idempotency.of("s", "u", "k", {})
    with pytest.raises(ValueError):
        run(insert_once(FakeCollection(), idem, {"_id": "random"}, status=201, body={}))  # type: ignore[arg-type]


def test_another_users_document_is_never_replayed() -> None:
    idem = Idempotency.of("s", "u", "k", {})
    assert idem is not None
    forged = {"_id": idem.id(), "idem": {**idem.record(201, {"x": 1})["idem"], "user_id": "v"}}
    with pytest.raises(IdempotencyKeyReusedError):
        idem.answer(forged)


def test_created_applies_status_and_replay_header() -> None:
    r = Response()
    assert Created(201, {"a": 1}, replayed=True).apply(r) == {"a": 1}
    assert r.status_code == 201 and r.headers[REPLAYED_HEADER] == "true"
    r2 = Response()
    Created(201, {}).apply(r2)
    assert REPLAYED_HEADER not in r2.headers
