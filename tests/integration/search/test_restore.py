"""PostHidden takes a thread (or a reply's text) out of the results, PostRestored brings it
back (SPEC 3 moderation), over the real broker: events produced the way the forum's relay
publishes them, keyed by thread."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from schemas import Envelope, new_event
from schemas.forum import PostCreated, PostHidden, PostRestored

from ...conftest import ServiceProcess
from ...servers import Servers
from ..reputation.events import produce
from .conftest import found, index_path, search_process, wait_found

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


@pytest.fixture(scope="module")
def search_alone(servers: Servers) -> Iterator[ServiceProcess]:
    svc = search_process(servers, f"restore{uuid.uuid4().hex[:6]}").start()
    try:
        yield svc
    finally:
        svc.stop()
        shutil.rmtree(index_path(svc), ignore_errors=True)


def ev(data: Any, thread: str) -> Envelope[Any]:
    return new_event(data, subject=thread, actor_id="someone")


async def test_hidden_leaves_the_index_and_restored_comes_back(
    servers: Servers, search_alone: ServiceProcess, http: httpx.AsyncClient
) -> None:
    svc = search_alone
    w, r = f"zq{uuid.uuid4().hex[:8]}", f"zr{uuid.uuid4().hex[:8]}"  # words only these hold
    tid, opening, reply = uuid.uuid4().hex, uuid.uuid4().hex, uuid.uuid4().hex
    created = [
        PostCreated(
            post_id=opening,
            thread_id=tid,
            kind="question",
            author_id="alice",
            title=f"Router {w}",
            body="it blinks",
            body_length=9,
        ),
        PostCreated(
            post_id=reply,
            thread_id=tid,
            parent_post_id=opening,
            kind="reply",
            author_id="bob",
            body=f"try {r}",
            body_length=9,
        ),
    ]
    await produce(servers.kafka, [ev(d, tid) for d in created])
    await wait_found(http, svc, w, tid)
    await wait_found(http, svc, r, tid)

    def hidden(post: str) -> PostHidden:
        return PostHidden(post_id=post, thread_id=tid, author_id="x", reason="spam")

    def restored(post: str) -> PostRestored:
        return PostRestored(post_id=post, thread_id=tid, author_id="x", restored_by="mod")

    # a hidden reply's text leaves; the thread stays
    await produce(servers.kafka, [ev(hidden(reply), tid)])
    await wait_found(http, svc, r, tid, present=False)
    assert tid in [i["id"] for i in await found(http, svc, w)]
    # restored: its text is found again
    await produce(servers.kafka, [ev(restored(reply), tid)])
    await wait_found(http, svc, r, tid)
    # a hidden opening post takes the whole thread out; restored, it is all back
    await produce(servers.kafka, [ev(hidden(opening), tid)])
    await wait_found(http, svc, w, tid, present=False)
    assert await found(http, svc, r) == []
    await produce(servers.kafka, [ev(restored(opening), tid)])
    items = await wait_found(http, svc, w, tid)
    assert [i["title"] for i in items if i["id"] == tid] == [f"Router {w}"]
    await wait_found(http, svc, r, tid)
