"""Nothing acknowledged is lost: writes while Kafka is unreachable (and a kill -9) still
reach Kafka, exactly as written, once Kafka is back."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from ...conftest import ServiceProcess, service_env
from ...servers import Servers
from .conftest import Recorder, uid
from .kafka_proxy import KafkaProxy
from .test_threads import new_thread, reply

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_writes_survive_kafka_down_and_a_crash(
    servers: Servers,
    http: httpx.AsyncClient,
    recorder: Recorder,
    mongo: AsyncMongoClient[dict[str, Any]],
) -> None:
    host, _, port = servers.kafka.partition(":")
    if host != "127.0.0.1":
        pytest.skip("the proxy trick needs the broker to advertise 127.0.0.1")
    proxy = KafkaProxy("127.0.0.2", int(port), host)
    try:
        await proxy.up()
    except OSError as e:
        pytest.skip(f"cannot listen on {proxy.address}: {e}")
    env = service_env(servers, "forum", suffix="dur", KAFKA_BOOTSTRAP_SERVERS=proxy.address)
    db = mongo[env["FORUM_MONGODB_DATABASE"]]
    forum = ServiceProcess("forum", env)
    await asyncio.to_thread(forum.start)  # the proxy runs on this loop: do not block it
    user, peer = uid("dur"), uid("peer")
    try:
        t0 = await new_thread(http, forum.url, user)
        await recorder.wait(t0["thread_id"], "PostCreated")  # the path through the proxy works

        await proxy.down()  # Kafka is now unreachable for this forum process
        t1 = await new_thread(http, forum.url, user, title="While Kafka is down")
        p1 = await reply(http, forum.url, t1["thread_id"], peer)
        await asyncio.sleep(3)
        assert recorder.of(t1["thread_id"]) == []  # really nothing got through
        pending = await db.threads.find_one({"_id": t1["thread_id"]})
        assert pending is not None and pending["outbox_len"] == 1

        # and the process dies right after acknowledging one more write
        t2 = await new_thread(http, forum.url, user, title="Then the forum crashed")
        forum.kill()
        await proxy.up()
        forum = ServiceProcess("forum", env)
        await asyncio.to_thread(forum.start)

        (c1, c1r) = await recorder.wait(t1["thread_id"], "PostCreated", 2, timeout=60)
        assert {c1.data.post_id, c1r.data.post_id} == {t1["post_id"], p1}
        (c2,) = await recorder.wait(t2["thread_id"], "PostCreated", timeout=60)
        assert (c2.data.title, c2.data.author_id, c2.data.kind) == (
            "Then the forum crashed",
            user,
            "question",
        )
        stored = await db.threads.find_one({"_id": t2["thread_id"]})
        assert stored is not None and stored["outbox_len"] == 0
    finally:
        forum.stop()
        await proxy.down()
