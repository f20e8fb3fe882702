"""The fold: what a thread or idea document holds after its events (no index involved)."""

from __future__ import annotations

from typing import Any

from search.domain import documents


def fold(*records):  # type: ignore[no-untyped-def]
    state = documents.new_state(documents.key_of(records[0].event.data))
    for r in records:
        documents.apply(state, r.event.data)
    return state


def test_thread_with_replies_and_accepted_answer(feed: Any) -> None:
    f = feed
    tid, opening = f.thread("Router blinks orange", "after the update", tags=["wifi"])
    s = fold(
        opening,
        f.reply(tid, "reset it", "r1"),
        f.reply(tid, "fixed channel", "r2"),
        f.accept(tid, "r2"),
    )
    found = documents.searchable(s)
    assert found is not None
    assert (found.title, found.body, found.accepted) == (
        "Router blinks orange",
        "after the update",
        "fixed channel",
    )
    assert found.replies == ["reset it"]
    assert found.solved and found.tags == ["wifi"] and found.kind == "question"


def test_edit_replaces_title_body_and_tags(feed: Any) -> None:
    f = feed
    tid, opening = f.thread("Old title", "old body", tags=["a"])
    s = fold(opening, f.edit(tid, f"{tid}-p0", title="New title", body="new body", tags=["b"]))
    found = documents.searchable(s)
    assert found is not None
    assert (found.title, found.body, found.tags) == ("New title", "new body", ["b"])


def test_edit_of_only_some_fields_keeps_the_others(feed: Any) -> None:
    f = feed
    tid, opening = f.thread("Title", "body", tags=["a"])
    found = documents.searchable(fold(opening, f.edit(tid, f"{tid}-p0", body="changed")))
    assert found is not None
    assert (found.title, found.body, found.tags) == ("Title", "changed", ["a"])


def test_deleted_opening_post_removes_the_thread_and_its_text(feed: Any) -> None:
    f = feed
    tid, opening = f.thread("Title", "secret body")
    s = fold(opening, f.reply(tid, "reply", "r1"), f.delete(tid, f"{tid}-p0"))
    assert documents.searchable(s) is None
    assert "secret" not in str(s)


def test_deleted_reply_leaves_and_unaccepts(feed: Any) -> None:
    f = feed
    tid, opening = f.thread("Title", "body")
    s = fold(opening, f.reply(tid, "answer", "r1"), f.accept(tid, "r1"), f.delete(tid, "r1"))
    found = documents.searchable(s)
    assert found is not None
    assert (found.accepted, found.replies, found.solved) == ("", [], False)


def test_hidden_posts_are_not_searchable_but_kept_for_a_restore(feed: Any) -> None:
    f = feed
    tid, opening = f.thread("Title", "body")
    s = fold(opening, f.reply(tid, "spam reply", "r1"), f.hide(tid, "r1"))
    found = documents.searchable(s)
    assert found is not None and found.replies == []
    assert documents.searchable(fold(opening, f.hide(tid, f"{tid}-p0"))) is None


def test_duplicate_created_after_a_delete_does_not_resurrect(feed: Any) -> None:
    f = feed
    tid, opening = f.thread("Title", "body")
    reply = f.reply(tid, "gone", "r1")
    s = fold(opening, reply, f.delete(tid, "r1"), reply)
    found = documents.searchable(s)
    assert found is not None and found.replies == []


def test_merged_idea_points_to_its_target(feed: Any) -> None:
    f = feed
    s = fold(f.idea("i1", "Dark mode", "please"), f.merge("i1", "i2"))
    found = documents.searchable(s)
    assert found is not None
    assert (found.type, found.kind, found.merged_into, found.body) == (
        "idea",
        "idea",
        "i2",
        "please",
    )


def test_events_search_does_not_index_have_no_document() -> None:
    from schemas.forum import GroupCreated

    assert documents.key_of(GroupCreated(group_id="g", name="n", owner_id="o")) is None


def test_restore_brings_a_hidden_post_back(feed: Any) -> None:
    f = feed
    tid, opening = f.thread("Title", "body")
    reply = f.reply(tid, "useful reply", "r1")
    s = fold(opening, reply, f.hide(tid, "r1"), f.restore(tid, "r1"))
    found = documents.searchable(s)
    assert found is not None and found.replies == ["useful reply"]
    # a hidden opening post takes the thread out; its restore puts it back, text and all
    hide, restore = f.hide(tid, f"{tid}-p0"), f.restore(tid, f"{tid}-p0")
    assert documents.searchable(fold(opening, reply, hide)) is None
    back = documents.searchable(fold(opening, reply, hide, restore))
    assert back is not None and (back.title, back.body) == ("Title", "body")
    # hidden again after a restore: the last of them decides
    assert documents.searchable(fold(opening, hide, restore, f.hide(tid, f"{tid}-p0"))) is None
    # a restore of a deleted post brings nothing back
    gone = fold(opening, reply, f.delete(tid, "r1"), f.restore(tid, "r1"))
    assert documents.searchable(gone).replies == []  # type: ignore[union-attr]
