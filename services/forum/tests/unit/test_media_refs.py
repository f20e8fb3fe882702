"""Media ids on posts: the projection of media.events and the rule, on communitykit.memory."""

from __future__ import annotations

import pytest

from communitykit.auth import Principal
from communitykit.consumer import Received
from communitykit.memory import MemoryDatabase
from forum.adapters.mongo import ForumDb
from forum.domain.commands import CreateReply, CreateThread
from forum.domain.errors import InvalidCommandError
from forum.handlers import media_refs, replies, threads
from forum.projections.media_refs import COLLECTION, MediaRefsProjection
from schemas import new_event, topics
from schemas.media import MediaHidden, MediaProcessed, MediaRestored, MediaUploaded

pytestmark = pytest.mark.asyncio

A, B = Principal("a"), Principal("b")
M1, M2, M3 = "1" * 32, "2" * 32, "3" * 32


def rec(data: object, offset: int) -> Received:
    return Received(new_event(data, subject="x"), topics.MEDIA_EVENTS, 0, offset)


def processed(media_id: str, author: str) -> MediaProcessed:
    return MediaProcessed(
        media_id=media_id,
        author_id=author,
        kind="image",
        content_type="image/png",
        width=10,
        height=10,
        renditions=["w320"],
    )


def uploaded(media_id: str, author: str, held: bool = False) -> MediaUploaded:
    return MediaUploaded(
        media_id=media_id,
        author_id=author,
        size=10,
        filename="a.png",
        declared_type="image/png",
        held=held,
    )


async def _db() -> ForumDb:
    db = ForumDb(MemoryDatabase())  # type: ignore[arg-type]
    batch = [
        uploaded(M1, "a"),
        processed(M1, "a"),
        uploaded(M2, "a", held=True),
        processed(M2, "a"),
        uploaded(M3, "a"),  # still processing
    ]
    projection = MediaRefsProjection(db.db[COLLECTION])
    await projection.apply([rec(d, i) for i, d in enumerate(batch)])
    await projection.apply([rec(d, i) for i, d in enumerate(batch)])  # redelivered: same
    return db


async def test_the_rule_names_each_reason() -> None:
    db = await _db()
    await media_refs.require_usable(db, A, [M1, M2])  # own, held included
    await media_refs.require_usable(db, B, [M1])  # public
    for user, ids, why in (
        (B, [M2], "not public"),
        (A, [M3], "not processed yet"),
        (A, ["4" * 32], "not known"),
    ):
        with pytest.raises(InvalidCommandError, match=why):
            await media_refs.require_usable(db, user, ids)


async def test_hidden_then_restored_in_one_batch_ends_restored() -> None:
    db = await _db()
    projection = MediaRefsProjection(db.db[COLLECTION])
    hidden = MediaHidden(media_id=M1, author_id="a", reason="x")
    await projection.apply([rec(hidden, 10)])
    with pytest.raises(InvalidCommandError, match="not public"):
        await media_refs.require_usable(db, B, [M1])
    restored = MediaRestored(media_id=M1, author_id="a", restored_by="mod")
    await projection.apply([rec(hidden, 11), rec(restored, 12)])
    await media_refs.require_usable(db, B, [M1])


async def test_posts_store_and_publish_their_media_ids() -> None:
    db = await _db()
    cmd = CreateThread(kind="media", title="t", body="b", media_ids=[M1, M1])
    assert cmd.media_ids == [M1]  # kept once
    created = await threads.create_thread(db, A, cmd)
    tid = created.body["thread_id"]
    reply = await replies.create_reply(db, B, tid, CreateReply(body="r", media_ids=[M1]))
    with pytest.raises(InvalidCommandError, match="not public"):
        await replies.create_reply(db, B, tid, CreateReply(body="r", media_ids=[M2]))
    for post_id in (created.body["post_id"], reply.body["post_id"]):
        post = await db.posts.find_one({"_id": post_id})
        assert post is not None and post["media_ids"] == [M1]
    docs = await db.posts.find({}).to_list(None) + await db.threads.find({}).to_list(None)
    outboxed = [repr(e) for d in docs for e in (d.get("outbox") or {}).values()]
    assert sum(f'"media_ids":["{M1}"]' in e for e in outboxed) == 2, outboxed


async def test_a_media_post_needs_links_or_ids() -> None:
    with pytest.raises(InvalidCommandError, match="media_ids"):
        CreateThread(kind="media", title="t", body="b")
    with pytest.raises(ValueError):
        CreateReply(body="b", media_ids=["../x"])
