"""The write handlers through the kit's Repository on the in-memory store (no I/O): one
write per command, votes of one idea that never conflict, merges that apply once. The
integration suite (tests/integration/ideas) proves the same on the real store and broker."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from communitykit.auth import Principal
from communitykit.memory import MemoryCollection, MemoryDatabase
from ideas import handlers
from ideas.adapters.mongo import IdeasDb
from ideas.adapters.repository import comments_repository, ideas_repository
from ideas.domain.commands import AddComment, CastVote, ChangeStatus, MergeIdeas, SubmitIdea
from ideas.domain.errors import IdeaMergedError, IllegalTransitionError
from ideas.domain.model import voter_key

pytestmark = pytest.mark.asyncio

STAFF = Principal("sam", roles=frozenset({"staff"}))


def store() -> tuple[IdeasDb, Any]:
    db = IdeasDb(MemoryDatabase())  # type: ignore[arg-type]
    return db, ideas_repository(db)


async def new_idea(ideas: Any, author: str = "alice") -> str:
    cmd = SubmitIdea(title="Dark mode", description="Please", category="ui", product_area="app")
    done = await handlers.submit_idea(ideas, Principal(author), cmd, None)
    return str(done.body["idea_id"])


def events_of(coll: MemoryCollection, idea_id: str) -> list[str]:
    return [e["type"].split(".")[2] for e in coll.docs[idea_id]["outbox"].values()]


async def vote(db: IdeasDb, ideas: Any, idea_id: str, user: str, value: int = 1) -> int:
    out = await handlers.cast_vote(db, ideas, Principal(user), idea_id, CastVote(value=value))
    return out.votes


async def test_a_vote_is_one_write_and_an_unchanged_vote_none() -> None:
    db, ideas = store()
    iid = await new_idea(ideas)
    coll: MemoryCollection = ideas.coll
    writes = coll.writes
    assert await vote(db, ideas, iid, "bob") == 1
    assert coll.writes == writes + 1
    assert await vote(db, ideas, iid, "bob") == 1 and coll.writes == writes + 1  # unchanged
    assert await vote(db, ideas, iid, "bob", 0) == 0 and coll.writes == writes + 2
    assert events_of(coll, iid) == ["IdeaSubmitted", "VoteCast", "VoteCast"]
    assert coll.docs[iid]["voters"] == {}


async def test_concurrent_voters_of_one_idea_all_count_once() -> None:
    db, ideas = store()
    iid = await new_idea(ideas)
    voters = [f"u{i}" for i in range(30)]
    await asyncio.gather(*(vote(db, ideas, iid, u) for u in voters + voters))
    doc = ideas.coll.docs[iid]
    assert doc["votes"] == 30 == len(doc["voters"]) and doc["recent_votes"] == 30
    assert events_of(ideas.coll, iid).count("VoteCast") == 30


async def test_status_moves_are_guarded_by_the_state_machine() -> None:
    _, ideas = store()
    iid = await new_idea(ideas)
    out = await handlers.change_status(ideas, STAFF, iid, ChangeStatus(status="planned"))
    assert out.status == "planned" and len(out.status_history) == 1
    with pytest.raises(IllegalTransitionError):
        await handlers.change_status(ideas, STAFF, iid, ChangeStatus(status="planned"))
    assert events_of(ideas.coll, iid) == ["IdeaSubmitted", "IdeaStatusChanged"]


async def test_a_merge_moves_the_votes_once() -> None:
    db, ideas = store()
    src, tgt = await new_idea(ideas, "carol"), await new_idea(ideas)
    for u in ("u1", "u2", "alice"):  # alice wrote the target: her vote does not move
        await vote(db, ideas, src, u)
    await vote(db, ideas, tgt, "u2")  # a voter of both counts once

    out = await handlers.merge_ideas(ideas, STAFF, src, MergeIdeas(into_idea_id=tgt))
    assert (out.moved_votes, out.votes) == (1, 2)
    with pytest.raises(IdeaMergedError):  # done: the source is a pointer now (409)
        await handlers.merge_ideas(ideas, STAFF, src, MergeIdeas(into_idea_id=tgt))

    target, source = ideas.coll.docs[tgt], ideas.coll.docs[src]
    assert target["votes"] == 2 and set(target["voters"]) == {voter_key("u1"), voter_key("u2")}
    assert events_of(ideas.coll, tgt).count("IdeasMerged") == 1
    assert source["merged_into"] == tgt and source["votes"] == 0 and source["voters"] == {}
    with pytest.raises(IdeaMergedError):
        await vote(db, ideas, src, "u9")


async def test_a_comment_is_its_own_document_with_its_event() -> None:
    _, ideas = store()
    comments = comments_repository(ideas_db := IdeasDb(MemoryDatabase()))  # type: ignore[arg-type]
    del ideas_db
    iid = await new_idea(ideas)
    done = await handlers.add_comment(ideas, comments, Principal("bob"), iid, AddComment(body="+1"))
    doc = comments.coll.docs[done.body["comment_id"]]
    assert (doc["idea_id"], doc["author_id"], doc["body"]) == (iid, "bob", "+1")
    assert [e["type"] for e in doc["outbox"].values()] == ["community.ideas.IdeaCommented.v1"]
