"""communitykit.repository on the in-memory collection: load → command → one guarded save.

The real server's side (the version guard deciding concurrent writers) is proven by the
services' integration suites (e.g. 200 concurrent RSVPs, votes on one post)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
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


@dataclass
class Poll:
    """A toy aggregate with many voters: a map saved entry by entry and counters."""

    name: str
    voters: dict[str, int] = field(default_factory=dict)
    total: int = 0
    per_day: dict[str, int] = field(default_factory=dict)

    def vote(self, voter: str, day: str) -> list[Any]:
        if voter in self.voters:
            return []
        self.voters[voter] = 1
        self.total += 1
        self.per_day[day] = self.per_day.get(day, 0) + 1
        return [new_event(GroupJoined(group_id=self.name, user_id=voter), subject=self.name)]

    def withdraw(self, voter: str, day: str) -> list[Any]:
        if voter not in self.voters:
            return []
        del self.voters[voter]
        self.total -= 1
        if day in self.per_day:
            self.per_day[day] -= 1
        return [new_event(GroupJoined(group_id=self.name, user_id=voter), subject=self.name)]

    def to_doc(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "voters": self.voters,
            "total": self.total,
            "per_day": self.per_day,
        }

    @classmethod
    def from_doc(cls, d: dict[str, Any]) -> Poll:
        return cls(d["name"], dict(d.get("voters") or {}), d["total"], dict(d.get("per_day") or {}))


def polls(coll: MemoryCollection, **kw: Any) -> Repository[Poll]:
    return Repository(
        coll,
        "forum.events",
        load=Poll.from_doc,
        dump=Poll.to_doc,
        maps=("voters", "per_day"),
        counters=("total", "per_day"),
        **kw,
    )


def one_voter(voter: str) -> dict[str, Any]:
    return {"name": 1, "total": 1, "per_day": 1, f"voters.{voter}": 1}


def test_diff_of_maps_is_entry_by_entry() -> None:
    before = {"voters": {"a": 1, "b": 1}, "n": 2}
    after = {"voters": {"a": 1, "c": 1}, "n": 2}
    assert diff(before, after, maps={"voters"}) == ({"voters.c": 1}, {"voters.b": ""})
    # without maps the whole field is rewritten
    assert diff(before, after) == ({"voters": {"a": 1, "c": 1}}, {})


@pytest.mark.asyncio
async def test_a_partial_load_saves_only_the_entries_it_loaded() -> None:
    coll = MemoryCollection()
    r = polls(coll)
    await r.add("p", Poll("p", {f"v{i}": 1 for i in range(100)}, 100, {"d1": 100}), [])

    saved = await r.change("p", lambda p: p.vote("new", "d2"), projection=one_voter("new"))
    assert saved.aggregate.voters == {"new": 1}  # only the entry it asked for was loaded
    doc = coll.docs["p"]
    assert len(doc["voters"]) == 101 and doc["total"] == 101  # the other 100 untouched
    assert doc["per_day"] == {"d1": 100, "d2": 1} and doc["version"] == 2
    assert doc["outbox_len"] == 1
    # the same vote again: loaded, unchanged, no write
    writes = coll.writes
    again = await r.change("p", lambda p: p.vote("new", "d2"), projection=one_voter("new"))
    assert again.events == [] and coll.writes == writes


@pytest.mark.asyncio
async def test_concurrent_saves_of_different_entries_never_conflict() -> None:
    coll = MemoryCollection()
    r = polls(coll, retries=1)  # a single lost race would be a 409
    await r.add("p", Poll("p"), [])

    def vote_while_someone_else_votes(i: int) -> Callable[[Poll], list[Any]]:
        def command(p: Poll) -> list[Any]:
            # between this load and its save another voter's save lands (and moves version)
            doc = coll.docs["p"]
            doc["voters"][f"other{i}"] = 1
            doc["total"] += 1
            doc["per_day"]["d1"] = doc["per_day"].get("d1", 0) + 1
            doc["version"] += 1
            return p.vote(f"v{i}", "d1")

        return command

    for i in range(20):
        await r.change(
            "p", vote_while_someone_else_votes(i), projection=one_voter(f"v{i}"), concurrent=True
        )
    doc = coll.docs["p"]
    assert doc["total"] == 40 and doc["per_day"] == {"d1": 40} and len(doc["voters"]) == 40
    assert doc["version"] == 41 and doc["outbox_len"] == 20
    # the same under the version guard: the first lost race is the end (retries=1)
    with pytest.raises(WriteConflictError):
        await r.change("p", vote_while_someone_else_votes(99), projection=one_voter("v99"))


@pytest.mark.asyncio
async def test_a_concurrent_save_asserts_what_it_changed() -> None:
    coll = MemoryCollection()
    r = polls(coll)
    await r.add("p", Poll("p", {"a": 1}, 1, {"d1": 1}), [])
    calls = 0

    def withdraw_while_the_day_expires(p: Poll) -> list[Any]:
        nonlocal calls
        calls += 1
        if calls == 1:  # meanwhile another writer removes the day's bucket and its count
            coll.docs["p"]["per_day"] = {}
            coll.docs["p"]["total"] = 0
        return p.withdraw("a", "d1")

    await r.change("p", withdraw_while_the_day_expires, projection=one_voter("a"), concurrent=True)
    assert calls == 2  # the first save missed: the bucket it would decrement was gone
    doc = coll.docs["p"]
    # the retry saw no bucket and left it alone: no negative bucket reappears
    assert doc["per_day"] == {} and doc["voters"] == {} and doc["total"] == -1

    # a voter entry changed meanwhile makes the save miss too
    await r.change("p", lambda p: p.vote("b", "d1"), projection=one_voter("b"), concurrent=True)
    calls = 0

    def withdraw_b_while_b_votes_again(p: Poll) -> list[Any]:
        nonlocal calls
        calls += 1
        if calls == 1:
            coll.docs["p"]["voters"]["b"] = 7
        return p.withdraw("b", "d1")

    await r.change("p", withdraw_b_while_b_votes_again, projection=one_voter("b"), concurrent=True)
    assert calls == 2 and "b" not in coll.docs["p"]["voters"]


@pytest.mark.asyncio
async def test_a_concurrent_save_still_moves_the_version_for_guarded_commands() -> None:
    coll = MemoryCollection()
    r = polls(coll)
    await r.add("p", Poll("p"), [])
    stale = await r.find("p")
    assert stale is not None
    await r.change("p", lambda p: p.vote("a", "d1"), projection=one_voter("a"), concurrent=True)
    assert coll.docs["p"]["version"] == stale[1] + 1


@pytest.mark.asyncio
async def test_prepare_runs_after_every_load_before_the_command() -> None:
    """``prepare`` hands the aggregate what lives elsewhere, read after each load (so after
    a lost race too); what it sets on the aggregate is not saved unless ``dump`` says so."""
    coll = MemoryCollection()
    r = repo(coll)
    await r.add("c1", Counter("c1"), [])
    calls: list[str] = []

    async def prepare(c: Counter) -> None:
        calls.append(f"prepare {c.value}")
        c.extra = "read elsewhere"  # type: ignore[attr-defined]

    def command(c: Counter) -> list[Any]:
        calls.append(f"command {c.value} {c.extra}")  # type: ignore[attr-defined]
        if len(calls) == 2:  # another writer gets in between our load and our save
            coll.docs["c1"]["value"] = 5
            coll.docs["c1"]["version"] += 1
        return c.add(1)

    await r.change("c1", command, prepare=prepare)
    assert calls == [
        "prepare 0",
        "command 0 read elsewhere",
        "prepare 5",
        "command 5 read elsewhere",
    ]
    assert coll.docs["c1"]["value"] == 6 and "extra" not in coll.docs["c1"]
