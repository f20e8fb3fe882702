"""The media item and gallery aggregates, saved through the kit's Repository on the
in-memory collection (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import pytest

from communitykit.auth import Principal
from communitykit.memory import MemoryCollection
from communitykit.repository import Repository
from media.adapters.repository import (
    gallery_from_doc,
    gallery_to_doc,
    media_from_doc,
    media_to_doc,
)
from media.domain.errors import NotAllowedError, Settled, StateConflictError
from media.domain.gallery import Gallery, Vote
from media.domain.model import MediaItem, Processed, Rendition
from media.domain.quotas import QUOTAS, quota_for, seconds_to_midnight

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
ALICE, BOB = Principal("alice"), Principal("bob")
MOD = Principal("mo", roles=frozenset({"moderator"}))
STAFF = Principal("st", roles=frozenset({"staff"}))


def item(held: bool = False) -> MediaItem:
    m, events = MediaItem.upload(
        media_id="m1", author_id="alice", filename="a.jpg", declared_type="image/jpeg",
        size=10, original_key="originals/m1", alt_text="", held=held, kind_hint="image",
        now=NOW, day="2026-12-07",
    )  # fmt: skip
    assert [e.data.event_name for e in events] == ["MediaUploaded"]
    return m


def done() -> Processed:
    r = Rendition("renditions/m1/w320", 5, "image/webp", "e", 320)
    return Processed("image", "image/jpeg", 640, 480, None, {"w320": r})


def test_processing_moves_once() -> None:
    m = item()
    assert not m.public and m.visible_to(ALICE) and not m.visible_to(BOB)
    (e,) = m.processed(done())
    assert e.data.renditions == ["w320"] and e.actorid is None
    assert m.public and m.visible_to(None)
    with pytest.raises(Settled):
        m.processed(done())
    with pytest.raises(Settled):
        m.rejected("late")


def test_rejection_keeps_the_reason() -> None:
    m = item()
    (e,) = m.rejected("type text/html is not allowed")
    assert m.state == "rejected" and e.data.reason == m.reason
    assert not m.visible_to(BOB) and m.visible_to(MOD)


def test_held_until_approved() -> None:
    m = item(held=True)
    m.processed(done())
    assert not m.public and not m.visible_to(BOB)
    with pytest.raises(NotAllowedError):
        m.approve(BOB)
    (e,) = m.approve(MOD)
    assert e.data.approved_by == "mo" and m.public
    with pytest.raises(StateConflictError):
        m.approve(MOD)


def test_flags_hide_like_forum_posts() -> None:
    m = item()
    m.processed(done())
    with pytest.raises(NotAllowedError):
        m.flag(ALICE, 2, "mine")
    assert len(m.flag(Principal("f1"), 2, "spam")) == 1
    with pytest.raises(StateConflictError):
        m.flag(Principal("f1"), 2, "again")
    m.flag(Principal("f2"), 2, "spam")
    events = m.flag(Principal("f3"), 2, "spam")
    assert [e.data.event_name for e in events] == ["MediaFlagged", "MediaHidden"]
    assert m.hidden and not m.visible_to(BOB) and m.visible_to(ALICE)
    (e,) = m.restore(MOD)
    assert not m.hidden and m.flags == {} and e.data.restored_by == "mo"


def test_one_trusted_flag_hides_at_once() -> None:
    m = item()
    m.processed(done())
    events = m.flag(Principal("reg"), 3, "spam")
    assert events[-1].data.event_name == "MediaHidden" and events[-1].data.hidden_by is None


def test_delete_only_settled_items() -> None:
    m = item()
    with pytest.raises(StateConflictError):
        m.delete("orphan")
    m.processed(done())
    (e,) = m.delete("orphan")
    assert m.state == "deleted" and e.data.reason == "orphan" and not m.visible_to(MOD)


def gallery(kind: Any = "community") -> Gallery:
    g, events = Gallery.create(
        gallery_id="g1", by=STAFF if kind == "howto" else ALICE, title="T", description="",
        kind=kind, product_id="p1", group_id=None, tags=[], now=NOW,
    )  # fmt: skip
    assert events[0].data.kind == kind
    return g


def ready(mid: str, author: str) -> MediaItem:
    m = item()
    m.media_id, m.author_id = mid, author
    m.processed(done())
    return m


def test_gallery_items() -> None:
    g = gallery()
    g.add(ready("a", "alice"), ALICE, caption="", alt_text=None, position=None, now=NOW)
    g.add(ready("b", "bob"), BOB, caption="", alt_text=None, position=0, now=NOW)
    with pytest.raises(NotAllowedError):
        g.add(ready("c", "carol"), BOB, caption="", alt_text=None, position=None, now=NOW)
    with pytest.raises(StateConflictError):
        g.add(ready("a", "alice"), ALICE, caption="", alt_text=None, position=None, now=NOW)
    unready = item()
    with pytest.raises(StateConflictError):
        g.add(unready, ALICE, caption="", alt_text=None, position=None, now=NOW)
    assert [i.media_id for i in g.items] == ["b", "a"]
    (e,) = g.move("a", 0, ALICE)
    assert e.data.position == 0 and [i.media_id for i in g.items] == ["a", "b"]
    assert g.move("a", 0, ALICE) == []
    with pytest.raises(NotAllowedError):
        g.move("a", 1, BOB)
    g.remove("b", BOB)  # its author
    assert [i.media_id for i in g.items] == ["a"]


def test_howto_is_staff_only() -> None:
    with pytest.raises(NotAllowedError):
        Gallery.create(
            gallery_id="h", by=ALICE, title="T", description="", kind="howto",
            product_id="p", group_id=None, tags=[], now=NOW,
        )  # fmt: skip
    g = gallery("howto")
    with pytest.raises(NotAllowedError):
        g.add(ready("a", "alice"), ALICE, caption="", alt_text=None, position=None, now=NOW)
    g.add(ready("a", "alice"), STAFF, caption="", alt_text=None, position=None, now=NOW)


def test_vote_changes_only_when_the_value_does() -> None:
    v = Vote("g", "m", "bob", "alice")
    (e,) = v.cast(1)
    assert (e.data.value, e.data.previous_value, e.partitionkey) == (1, 0, "m")
    assert v.cast(1) == []
    assert v.cast(0)[0].data.previous_value == 1
    with pytest.raises(NotAllowedError):
        Vote("g", "m", "alice", "alice").cast(1)


@pytest.mark.asyncio
async def test_repository_round_trips() -> None:
    coll = MemoryCollection()
    repo = Repository(cast(Any, coll), "media.events", load=media_from_doc, dump=media_to_doc)
    m = item()
    await repo.add("m1", m, [])
    saved = await repo.change("m1", lambda x: x.processed(done()))
    assert saved.version == 2
    back = await repo.get("m1")
    assert back.renditions["w320"].width == 320 and back.state == "ready"
    doc = await coll.find_one({"_id": "m1"})
    assert doc is not None and len(doc["outbox"]) == 1 and doc["flag_count"] == 0
    with pytest.raises(Settled):
        await repo.change("m1", lambda x: x.processed(done()))
    g = gallery()
    g.add(back, ALICE, caption="c", alt_text=None, position=None, now=NOW)
    assert gallery_from_doc({"_id": "g1", **gallery_to_doc(g)}) == g


def test_quotas() -> None:
    assert QUOTAS[0].videos_per_day == 0 and QUOTAS[0].held
    assert quota_for(9).images_per_day == QUOTAS[4].images_per_day
    assert quota_for(0, staff=True).held is False
    assert seconds_to_midnight(NOW) == 14 * 3600
