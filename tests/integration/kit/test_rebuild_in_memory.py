"""``make rebuild``'s in-memory path (issue 28, item 3) against the store-backed one, on the
real broker and store: the same topic replayed through a service's own ``Rebuild`` spec both
ways gives the same digest of every projection collection, and the same indexes.

The in-memory path equal to *live* is proven by each service's own rebuild test
(tests/integration/{reputation,analytics}/test_exactly_once.py: ``rebuild == live`` through
``python -m <service>.rebuild``, whose specs take the in-memory path); this test proves
that the two paths the kit offers (``--through-store`` is the fallback) cannot diverge.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient

from analytics import rebuild as analytics_rebuild
from communitykit import rebuild as kit
from communitykit.consumer import BatchHandler, Received
from communitykit.kafka import ensure_topics
from forum import rebuild as forum_rebuild
from reputation import rebuild as reputation_rebuild
from schemas.streams import community_stream, topic_of

from ...conftest import RUN_ID
from ...servers import Servers

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

Doc = dict[str, Any]
EVENTS = 1500
BATCH = 300
#: collections the stream does not feed (no gatherings in it; no spike big enough to alert)
EMPTY_ALLOWED = {"gatherings", "attendees", "gathering_checkins", "rsvps", "listening_alerts"}


async def produce_stream(bootstrap: str, topic: str) -> None:
    """A realistic stream (schemas.streams), keyed like the producers key it, with a share
    of its events published twice (a relay that crashed before marking)."""
    events = community_stream(EVENTS, seed=28).events
    again = events[::10]
    p = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, linger_ms=5)
    await p.start()
    try:
        for e in [*events, *again]:
            await p.send(topic, e.to_bytes(), key=e.key, headers=e.headers())
        await p.flush()
    finally:
        await p.stop()


def on_their_topics(spec: kit.Rebuild) -> kit.Rebuild:
    """``spec`` whose projection receives each record under the topic its producer publishes
    it on (the test topic carries them all): projections route by topic (analytics'
    listening reads forum, ideas and search events only), so without this a part of a
    projection would see nothing and both paths would trivially agree on it."""
    build = spec.projection

    async def projection(db: kit.Db) -> BatchHandler:
        apply = await build(db)

        async def routed(batch: Any) -> None:
            await apply(
                [Received(r.event, topic_of(r.event), r.partition, r.offset) for r in batch]
            )

        return routed

    return replace(spec, projection=projection)


@pytest.mark.parametrize(
    "spec_of",
    [reputation_rebuild.spec, analytics_rebuild.spec, forum_rebuild.spec],
    ids=["reputation", "analytics", "forum"],
)
async def test_in_memory_rebuild_equals_the_store_backed_one(
    servers: Servers, mongo: AsyncMongoClient[Doc], spec_of: Callable[[], kit.Rebuild]
) -> None:
    topic = f"test.rebuild.{uuid.uuid4().hex[:8]}"
    await ensure_topics(servers.kafka, [topic])
    await produce_stream(servers.kafka, topic)
    base = spec_of()
    assert base.in_memory, "the service's rebuild takes the in-memory path"
    spec = replace(
        on_their_topics(base),
        # several batches: documents folded into ones an earlier batch wrote, as live does
        batch_records=BATCH,
        settings=base.settings.model_copy(
            update={"kafka_bootstrap_servers": servers.kafka, "mongodb_url": servers.mongodb}
        ),
    )
    until = await kit.end_offsets(servers.kafka, [topic])
    assert sum(until.values()) == EVENTS + len(range(0, EVENTS, 10))
    memory_db = mongo[f"t{RUN_ID}rb_mem_{uuid.uuid4().hex[:6]}"]
    store_db = mongo[f"t{RUN_ID}rb_sto_{uuid.uuid4().hex[:6]}"]
    try:
        in_memory = await kit.project(spec, memory_db, until)
        through = await kit.project(spec, store_db, until, in_memory=False)
        assert in_memory["path"] == "in memory, then loaded"
        assert through["path"] == "through the store"
        assert in_memory["events_replayed"] == through["events_replayed"] > 0

        def digest_of(db: Any) -> Any:
            return kit.digest(db, spec.collections, spec.transport_fields, spec.normalize)

        got, expected = await digest_of(memory_db), await digest_of(store_db)
        assert got == expected
        assert sum(c["count"] for c in got.values()) > 0  # a projection, not two empty ones
        empty = [name for name, c in got.items() if c["count"] == 0]
        assert set(empty) <= EMPTY_ALLOWED, empty  # every part of the projection compared
        for name in await store_db.list_collection_names():
            want = {str(i["key"]) for i in await (await store_db[name].list_indexes()).to_list()}
            have = {str(i["key"]) for i in await (await memory_db[name].list_indexes()).to_list()}
            assert have == want, name
    finally:
        await mongo.drop_database(memory_db.name)
        await mongo.drop_database(store_db.name)
