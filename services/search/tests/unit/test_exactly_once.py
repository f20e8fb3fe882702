"""The index and its Kafka position move together, in one commit; replays change nothing."""

from __future__ import annotations

from typing import Any

import pytest

from search.adapters.index import SearchIndex


def story(f: Any) -> list[Any]:
    a, ra = f.thread("Router blinks", "orange light")
    b, rb = f.thread("Printer offline", "since the update")
    return [
        ra,
        rb,
        f.reply(a, "hold reset", "r1"),
        f.accept(a, "r1"),
        f.edit(b, f"{b}-p0", body="since the 4.2 update"),
        f.reply(b, "spam", "r2"),
        f.hide(b, "r2"),
        f.idea("i1", "Dark mode", "for the app"),
        f.idea("i2", "Night mode"),
        f.merge("i2", "i1"),
        f.delete(a, "r1"),
    ]


def test_position_is_committed_with_the_documents(env: Any) -> None:
    records = story(env.feed)
    assert env.apply(*records) == len(records)
    assert env.index.meta()["offsets"] == {"forum.events": {"0": 8}, "ideas.events": {"0": 3}}


def test_a_redelivered_batch_changes_nothing(env: Any) -> None:
    records = story(env.feed)
    env.apply(*records[:6])
    before = env.index.digest()
    assert env.apply(*records[:6]) == 0
    assert env.index.digest() == before
    # an overlapping batch applies only its new part
    assert env.apply(*records[4:]) == len(records) - 6


def test_batch_boundaries_do_not_matter(make_env: Any) -> None:
    one, many = make_env(), make_env()
    records = story(one.feed)
    one.apply(*records)
    for r in story(many.feed):
        many.apply(r)
    assert one.index.digest() == many.index.digest()
    assert one.ids("orange") == many.ids("orange")


def test_a_failed_commit_leaves_nothing_behind(env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    records = story(env.feed)
    env.apply(*records[:2])
    before, position = env.index.digest(), env.index.meta()

    def boom(*_: Any) -> None:
        raise OSError("disk full")

    writer = env.index._writer_()
    monkeypatch.setattr(env.index, "_writer_", lambda: _Failing(writer, boom))
    with pytest.raises(OSError):
        env.apply(*records[2:])
    monkeypatch.undo()
    assert env.index.digest() == before and env.index.meta() == position
    assert env.projection.offsets == position["offsets"]
    env.apply(*records[2:])  # the retry applies everything once
    assert env.index.meta()["offsets"]["forum.events"]["0"] == 8


class _Failing:
    """The real writer, whose commit fails after the documents were added."""

    def __init__(self, writer: Any, fail: Any) -> None:
        self._w, self.commit = writer, fail

    def __getattr__(self, name: str) -> Any:
        return getattr(self._w, name)


def test_the_position_survives_a_reopen(tmp_path: Any, make_env: Any) -> None:
    path = str(tmp_path / "index")
    first = make_env(path)
    records = story(first.feed)
    first.apply(*records[:5])
    digest = first.index.digest()
    first.index.close()
    del first
    again = make_env(path)
    assert again.index.digest() == digest
    assert again.projection.position("forum.events", 0) == 5
    assert again.apply(*records) == len(records) - 5


def test_an_index_of_another_schema_version_is_rebuilt(tmp_path: Any, make_env: Any) -> None:
    from search.adapters import index as index_module

    path = str(tmp_path / "index")
    env = make_env(path)
    env.apply(*story(env.feed))
    meta = env.index.meta()
    env.index.write({}, set(), {**meta})
    env.index.close()
    old = index_module.SCHEMA_VERSION
    index_module.SCHEMA_VERSION = old + 1
    try:
        fresh = SearchIndex(path)
        assert fresh.meta() == {} and fresh.digest()["documents"] == 0
    finally:
        index_module.SCHEMA_VERSION = old
