"""One trace per request (SPEC 6): forum HTTP → outbox relay publish → reputation consume →
reputation Mongo write, over the real broker and database.

Both services run in this process (one shared TracerProvider) with an in-memory exporter,
so the test reads every finished span and checks the parent chain.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from communitykit import telemetry
from schemas.topics import (
    FORUM_EVENTS,
    GATHERINGS_EVENTS,
    IDEAS_EVENTS,
    MEDIA_EVENTS,
)

from ..conftest import JWT_SECRET, auth, commit_end_offsets, eventually
from ..servers import Servers

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

EXPORTER = InMemorySpanExporter()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def apps(servers: Servers) -> AsyncIterator[dict[str, Any]]:
    # the exporter goes in BEFORE any app, instrumentation or Mongo client exists
    telemetry.add_span_processor(SimpleSpanProcessor(EXPORTER))
    import forum.config
    import forum.main
    import reputation.config
    import reputation.main

    run = uuid.uuid4().hex[:8]
    common: dict[str, Any] = {
        "kafka_bootstrap_servers": servers.kafka,
        "mongodb_url": servers.mongodb,
        "jwt_secret": JWT_SECRET,
        "log_level": "INFO",
        "outbox_poll_seconds": 0.2,
        "consumer_retry_seconds": 0.5,
    }
    fs = forum.config.Settings(
        mongodb_database=f"o{run}_forum", consumer_group=f"o{run}-forum", **common
    )
    rs = reputation.config.Settings(
        mongodb_database=f"o{run}_reputation", consumer_group=f"o{run}-reputation", **common
    )
    # start the new group at the topics' end: replaying older runs' records would put ours
    # in batches whose parent is some earlier (unexported) trace
    # (every topic reputation reads: a batch of older gatherings or media records would
    # otherwise parent the span that carries the forum record)
    await commit_end_offsets(
        servers.kafka,
        rs.consumer_group,
        [FORUM_EVENTS, IDEAS_EVENTS, GATHERINGS_EVENTS, MEDIA_EVENTS],
    )
    root = logging.getLogger()
    saved_logging = (root.handlers[:], root.level)  # create_app installs the JSON handler
    forum_app = forum.main.create_app(fs)
    rep_app = reputation.main.create_app(rs)
    async with (
        forum_app.router.lifespan_context(forum_app),
        rep_app.router.lifespan_context(rep_app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=forum_app), base_url="http://forum"
        ) as forum_http,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=rep_app), base_url="http://reputation"
        ) as rep_http,
    ):
        yield {"forum": forum_http, "reputation": rep_http, "rep_db": rs.mongodb_database}
    root.handlers[:], level = saved_logging
    root.setLevel(level)


#: a reputation write's (server, producer, consumer, Mongo) spans
Chain = tuple[ReadableSpan, ReadableSpan, ReadableSpan, ReadableSpan]


def _ancestors(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[ReadableSpan]:
    out = []
    cur = span
    while cur.parent is not None and cur.parent.span_id in by_id:
        cur = by_id[cur.parent.span_id]
        out.append(cur)
    return out


async def test_one_trace_from_the_forum_request_to_the_reputation_write(
    apps: dict[str, Any],
) -> None:
    forum, rep = apps["forum"], apps["reputation"]
    author, voter = f"ann-{uuid.uuid4().hex[:6]}", f"ben-{uuid.uuid4().hex[:6]}"
    r = await forum.post(
        "/threads",
        headers=auth(author),
        json={"kind": "question", "title": "Traced?", "body": "Is it?"},
    )
    assert r.status_code == 201, r.text
    post_id = r.json()["post_id"]
    r = await forum.put(f"/posts/{post_id}/vote", headers=auth(voter), json={"value": 1})
    assert r.status_code == 200, r.text

    async def six() -> bool:
        return bool((await rep.get(f"/users/{author}")).json()["reputation"] == 6)

    await eventually(six)

    rep_db = apps["rep_db"]

    def find_chains() -> tuple[list[ReadableSpan], list[Chain]]:
        spans = list(EXPORTER.get_finished_spans())
        by_id = {s.context.span_id: s for s in spans}
        chains: list[Chain] = []
        for mongo_span in spans:
            if mongo_span.kind is not SpanKind.CLIENT or not mongo_span.name.startswith(
                f"{rep_db}."
            ):
                continue
            if mongo_span.name.rsplit(".", 1)[1] not in {"update", "insert"}:
                continue
            up = _ancestors(mongo_span, by_id)
            consumer = next((s for s in up if s.kind is SpanKind.CONSUMER), None)
            producer = next((s for s in up if s.kind is SpanKind.PRODUCER), None)
            server = next((s for s in up if s.kind is SpanKind.SERVER), None)
            if consumer and producer and server:
                chains.append((server, producer, consumer, mongo_span))
        return spans, chains

    # a span is exported when it ENDS: the batch's consumer span ends after its commit,
    # which can come well after the write that made the reputation visible
    async def chained() -> tuple[list[ReadableSpan], list[Chain]] | None:
        found = find_chains()
        return found if found[1] else None

    try:
        spans, chains = await eventually(chained, timeout=15)
    except AssertionError:
        spans, chains = find_chains()
    by_id = {s.context.span_id: s for s in spans}
    servers = [
        s
        for s in spans
        if s.kind is SpanKind.SERVER
        and (s.attributes or {}).get("http.route") in {"/threads", "/posts/{post_id}/vote"}
    ]
    assert len(servers) >= 2, [s.name for s in spans]
    request_traces = {s.context.trace_id: s for s in servers}
    assert chains, "no reputation Mongo write span descends from a forum request: " + repr(
        sorted({(s.name, s.kind.name) for s in spans})
    )

    for server, producer, consumer, mongo_span in chains:
        # a single trace id across both services
        ids = {s.context.trace_id for s in (server, producer, consumer, mongo_span)}
        assert ids == {server.context.trace_id}
        assert server.context.trace_id in request_traces
        # the consumer's processing span is a direct child of the relay's publish span
        assert consumer.parent is not None and consumer.parent.span_id == producer.context.span_id
        # a batch names every topic it holds (reputation also reads gatherings and media
        # events, which earlier tests may have left for a fresh group to read)
        assert consumer.name.endswith(" process")
        assert "forum.events" in consumer.name.removesuffix(" process").split(",")
        assert producer.name == "forum.events publish"
        assert (producer.attributes or {}).get("messaging.destination.name") == "forum.events"
        # the publish ran in the relay's background task, yet continues the request's trace
        assert server in _ancestors(producer, by_id)
        assert server.name.startswith(("POST /threads", "PUT /posts/{post_id}/vote"))

    # both requests' events were published under their own request traces, and every
    # consumed record's producer span is linked from a consumer span (batches link all)
    publishes = [
        s
        for s in spans
        if s.kind is SpanKind.PRODUCER
        and s.context.trace_id in request_traces
        and s.name == "forum.events publish"
    ]
    assert {s.context.trace_id for s in publishes} >= set(request_traces)
    wanted = {p.context.span_id for p in publishes}

    async def all_linked() -> set[int]:
        linked = {
            link.context.span_id
            for s in EXPORTER.get_finished_spans()
            if s.kind is SpanKind.CONSUMER
            for link in s.links
        }
        return set() if wanted - linked else wanted

    await eventually(all_linked, timeout=15)
