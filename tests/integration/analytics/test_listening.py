"""Listening on the real broker and store (issue 26): hand-made events produced to the topics
→ the /listening endpoints answer; the spike's alerts reach analytics.events exactly once,
even when every event comes again and the process restarts; a real search that finds
nothing becomes a search gap."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas import Envelope, new_event, parse, topics
from schemas import forum as f

from ...conftest import ServiceProcess, eventually, service_env
from ...servers import Servers
from ..search.conftest import index_path, search_process
from .helpers import analytics, caught_up, produce

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

STEADY = [
    "Loving the new wifi mesh setup on my router, works great",
    "The wifi mesh setup was easy and the app is nice",
    "Good wifi mesh coverage across the house with this router",
    "Happy with the wifi mesh speed after the setup",
]
SPIKE = [
    "Battery drain is terrible since the update, awful",
    "Terrible battery drain overnight, I hate this",
    "Why is the battery drain so bad? Horrible experience",
    "Battery drain again, the sensor is dead by noon, very disappointed",
]
Events = list[tuple[str, Envelope[Any]]]


def story(tag: str, now: datetime) -> Events:
    """28 days of steady happy wifi talk on one product, then today 8 angry questions about
    battery drain by 4 members (product and tag unique to this run)."""
    product, battery, wifi = f"router-{tag}", f"battery-{tag}", f"wifi-{tag}"
    out: Events = []

    def post(t: datetime, author: str, kind: str, title: str, body: str, tags: list[str]) -> None:
        tid = f"t-{tag}-{len(out)}"
        data = f.PostCreated(
            post_id=tid,
            thread_id=tid,
            kind=kind,  # type: ignore[arg-type]
            author_id=f"{author}-{tag}",
            title=title,
            tags=tags,
            product_id=product,
            body_length=len(body),
            body=body,
        )
        out.append(
            (topics.FORUM_EVENTS, new_event(data, subject=tid, actor_id=data.author_id, time=t))
        )

    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    for d in range(28, 0, -1):
        for k, text in enumerate(STEADY):
            post(
                today - timedelta(days=d, hours=-9 - k), f"u{k}", "discussion", "Wifi", text, [wifi]
            )
    for k, text in enumerate(STEADY):  # today, as steady as ever
        post(
            max(today, now - timedelta(minutes=30 + k)), f"u{k}", "discussion", "Wifi", text, [wifi]
        )
    for k in range(8):
        t = max(today, now - timedelta(seconds=60 - k))
        post(t, f"m{k % 4}", "question", "Battery drain", SPIKE[k % 4], [battery])
    return out


async def end_offsets(bootstrap: str, topic: str) -> dict[TopicPartition, int]:
    c = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await c.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(topics.EVENT_TOPIC_PARTITIONS)]
        return dict(await c.end_offsets(tps))
    finally:
        await c.stop()


async def read_from(bootstrap: str, start: dict[TopicPartition, int]) -> list[Envelope[Any]]:
    """Every record of the topic after ``start`` (up to its current end)."""
    c = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await c.start()
    out = []
    try:
        c.assign(list(start))
        for tp, off in start.items():
            c.seek(tp, off)
        ends = dict(await c.end_offsets(list(start)))
        todo = {tp for tp in start if ends[tp] > start[tp]}
        while todo:
            batch = await c.getmany(*todo, timeout_ms=1000)
            for records in batch.values():
                out += [parse(r.value) for r in records]
            todo = {tp for tp in todo if await c.position(tp) < ends[tp]}
    finally:
        await c.stop()
    return out


async def get(http: httpx.AsyncClient, url: str, **params: Any) -> Any:
    r = await http.get(url, params=params)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.timeout(600)
async def test_the_spike_trends_and_its_alerts_are_published_once(
    servers: Servers, http: httpx.AsyncClient
) -> None:
    tag = uuid.uuid4().hex[:6]
    now = datetime.now(UTC)
    events = story(tag, now)
    product = f"router-{tag}"
    start = await end_offsets(servers.kafka, topics.ANALYTICS_EVENTS)
    env = {"ANALYTICS_CONSUMER_MAX_RECORDS": "25"}

    async def mine() -> list[Envelope[Any]]:
        return [
            e
            for e in await read_from(servers.kafka, start)
            if e.data.key in (product, f"battery-{tag}")
        ]

    async with analytics(servers, f"ls{tag}", **env) as proc:
        await produce(servers.kafka, events)
        await eventually(lambda: caught_up(servers, proc), timeout=180, interval=1)
        published = await eventually(lambda: _at_least(mine, 4), timeout=30)
        url = proc.url
        trend = await get(http, f"{url}/listening/trending", window="24h", product_id=product)
        terms = {i["term"]: i for i in trend["items"]}
        assert "batteri drain" in terms, trend
        assert not {"wifi", "mesh", "wifi mesh"} & set(terms)
        assert terms["batteri drain"]["count"] == 8 and len(terms["batteri drain"]["examples"]) == 3
        sent = await get(http, f"{url}/listening/sentiment", group_by="tag")
        by_key = {i["key"]: i for i in sent["items"]}
        assert by_key[f"battery-{tag}"]["negative_share"] == 1.0
        assert by_key[f"wifi-{tag}"]["mean_compound"] > 0.5
        alerts = (await get(http, f"{url}/listening/alerts", limit=100))["items"]
        assert sum(a["key"] in (product, f"battery-{tag}") for a in alerts) == 4
        # every event again (a republished stream), through the same process
        await produce(servers.kafka, events)
        await eventually(lambda: caught_up(servers, proc), timeout=180, interval=1)
        db, group = proc.env["ANALYTICS_MONGODB_DATABASE"], proc.env["ANALYTICS_CONSUMER_GROUP"]
    # ... and a new process (no in-memory state) on the same database and group, with
    # everything once more
    again = ServiceProcess(
        "analytics",
        service_env(
            servers,
            "analytics",
            f"ls{tag}",
            ANALYTICS_MONGODB_DATABASE=db,
            ANALYTICS_CONSUMER_GROUP=group,
            **env,
        ),
    )
    await asyncio.to_thread(again.start)
    try:
        await produce(servers.kafka, events)
        await eventually(lambda: caught_up(servers, again), timeout=180, interval=1)
        await asyncio.sleep(3)  # several relay rounds (ANALYTICS_OUTBOX_POLL_SECONDS=0.5)
        final = await mine()
    finally:
        await asyncio.to_thread(again.stop)
    assert len(final) == len(published) == 4
    kinds = sorted((e.type.split(".")[2], e.data.key) for e in final)
    assert kinds == sorted(
        [
            ("SentimentDropped", product),
            ("SentimentDropped", f"battery-{tag}"),
            ("TrendDetected", product),
            ("TrendDetected", f"battery-{tag}"),
        ]
    )
    assert all(e.partitionkey == e.data.key and e.actorid is None for e in final)


async def _at_least(read: Any, n: int) -> Any:
    got = await read()
    return got if len(got) >= n else None


@pytest.mark.timeout(300)
async def test_a_real_search_that_finds_nothing_is_a_search_gap(
    servers: Servers, http: httpx.AsyncClient
) -> None:
    tag = uuid.uuid4().hex[:6]
    search = search_process(servers, f"gap{tag}")
    await asyncio.to_thread(search.start)
    try:
        async with analytics(servers, f"gap{tag}") as proc:
            query = f"Quantum  FLUX capacitor {tag}?"
            for _ in range(2):
                r = await http.get(f"{search.url}/search", params={"q": query})
                assert r.status_code == 200 and r.json()["items"] == []
            r = await http.get(f"{search.url}/similar", params={"title": query})
            assert r.status_code == 200

            async def gap() -> Any:
                items = (await get(http, f"{proc.url}/listening/search-gaps"))["items"]
                # the three records may land in different batches: wait for all three
                return next((g for g in items if tag in g["query"] and g["searches"] >= 3), None)

            found = await eventually(gap, timeout=150, interval=0.5)  # a loaded machine
            assert found["query"] == f"quantum flux capacitor {tag}"
            assert found["searches"] == 3  # two /search, one /similar
            assert found["zero_results"] == 3
    finally:
        await asyncio.to_thread(search.stop)
        shutil.rmtree(index_path(search), ignore_errors=True)
