"""communitykit.repository on the in-memory collection: load → command → one guarded save.

The real server's side (the version guard deciding concurrent writers) is proven by the
services' integration suites (e.g. 200 concurrent RSVPs, votes on one post)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest

from communitykit.memory import MemoryCollection
from communitykit.problems import ConflictError, NotFoundError
from communitykit.repository import Repository, WriteConflictError, diff
from schemas import new_event
from schemas.forum import GroupJoined


@dataclass
class Counter:
    """A toy aggregate: a named counter that refuses to pass a limit."""

    name: str
    value: int = 0
    tags: list[str] = field(default_factory=list)

    def add(self, n: int, limit: int = 10) -> list[Any]:
        if self.value + n > limit:
            raise ConflictError("over the limit")
        self.value += n
        return [
            new_event(GroupJoined(group_id=self.name, user_id=f"u{self.value}"), subject=self.name)
        ]

    def to_doc(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "tags": self.tags}

    @classmethod
    def from_doc(cls, d: dict[str, Any]) -> Counter:
        return cls(d["name"], d["value"], list(d.get("tags", [])))


def repo(coll: MemoryCollection, **kw: Any) -> Repository[Counter]:
    return Repository(coll, "forum.events", load=Counter.from_doc, dump=Counter.to_doc, **kw)


def test_diff_sets_changed_and_unsets_removed_fields() -> None:
    sets, unsets = diff({"a": 1, "b": 2, "version": 3}, {"a": 1, "b": 5, "c": 1})
    assert sets == {"b": 5, "c": 1}
    assert unsets == {}
    assert diff({"a": 1, "gone": 2}, {"a": 1}) == ({}, {"gone": ""})


@pytest.mark.asyncio
async def test_change_saves_fields_version_and_outbox_in_one_update() -> None:
    coll = MemoryCollection()
    r = repo(coll)
    await r.add("c1", Counter("c1"), [])
    writes = coll.writes
    saved = await r.change("c1", lambda c: c.add(3))
    assert coll.writes == writes + 1  # one write
    doc = coll.docs["c1"]
    assert doc["value"] == 3 and doc["version"] == 2 == saved.version
    assert doc["outbox_len"] == 1 and list(doc["outbox"]) == [saved.events[0].id]


@pytest.mark.asyncio
async def test_a_domain_error_writes_nothing() -> None:
    coll = MemoryCollection()
    r = repo(coll)
    await r.add("c1", Counter("c1", 9), [])
    before = dict(coll.docs["c1"])
    with pytest.raises(ConflictError, match="over the limit"):
        await r.change("c1", lambda c: c.add(5))
    assert coll.docs["c1"] == before


@pytest.mark.asyncio
async def test_no_change_no_write() -> None:
    coll = MemoryCollection()
    r = repo(coll)
    await r.add("c1", Counter("c1"), [])
    writes = coll.writes
    saved = await r.change("c1", lambda c: [])
    assert coll.writes == writes and saved.version == 1


@pytest.mark.asyncio
async def test_missing_document_is_the_given_error_or_created() -> None:
    r = repo(MemoryCollection(), missing=lambda i: NotFoundError(f"no counter {i}"))
    with pytest.raises(NotFoundError, match="no counter x"):
        await r.change("x", lambda c: c.add(1))
    saved = await r.change("x", lambda c: c.add(1), create=lambda: Counter("x"))
    assert saved.created and saved.version == 1 and saved.aggregate.value == 1


@pytest.mark.asyncio
async def test_a_lost_race_reruns_the_command_on_the_fresh_state() -> None:
    coll = MemoryCollection()
    r = repo(coll)
    await r.add("c1", Counter("c1"), [])
    seen: list[int] = []

    def command(c: Counter) -> list[Any]:
        seen.append(c.value)
        if len(seen) == 1:  # another writer gets in between our load and our save
            coll.docs["c1"]["value"] = 9
            coll.docs["c1"]["version"] += 1
        return c.add(1)

    await r.change("c1", command)
    assert seen == [0, 9]  # the rule was checked again against the state it applies to
    assert coll.docs["c1"]["value"] == 10 and coll.docs["c1"]["outbox_len"] == 1


@pytest.mark.asyncio
async def test_a_race_between_two_first_writers_becomes_an_update() -> None:
    coll = MemoryCollection()
    r = repo(coll)

    def command(c: Counter) -> list[Any]:
        if "x" not in coll.docs:  # the other first writer inserts between load and insert
            coll.docs["x"] = {"_id": "x", "name": "x", "value": 5, "tags": [], "version": 1}
        return c.add(1)

    saved = await r.change("x", command, create=lambda: Counter("x"))
    assert not saved.created and coll.docs["x"]["value"] == 6 and coll.docs["x"]["version"] == 2


@pytest.mark.asyncio
async def test_endless_races_end_in_a_409() -> None:
    coll = MemoryCollection()
    r = repo(coll, retries=3)
    await r.add("c1", Counter("c1"), [])

    def command(c: Counter) -> list[Any]:
        coll.docs["c1"]["version"] += 1
        return c.add(1)

    with pytest.raises(WriteConflictError) as e:
        await r.change("c1", command)
    assert e.value.status == 409


@pytest.mark.asyncio
async def test_concurrent_changes_all_apply_exactly_once() -> None:
    coll = MemoryCollection()
    r = repo(coll)
    await r.add("c1", Counter("c1"), [])

    async def one() -> None:
        await asyncio.sleep(0)
        await r.change("c1", lambda c: c.add(1, limit=1000))

    await asyncio.gather(*(one() for _ in range(50)))
    assert coll.docs["c1"]["value"] == 50 and coll.docs["c1"]["outbox_len"] == 50
