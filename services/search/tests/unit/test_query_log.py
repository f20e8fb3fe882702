"""SearchPerformed (issue 26 item 4): every new search and every /similar publishes the
normalised query and its result count on search.events, names nobody, and never fails or
waits for the request (best effort)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from schemas import parse, topics
from search.adapters.query_log import QueryLog

from .test_http_queries import RecordingProducer, client  # noqa: F401 (fixture)


def _get(app: FastAPI, path: str, **params: Any) -> httpx.Response:
    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            r = await c.get(path, params=params)
            await asyncio.sleep(0.01)  # let the background send run
            return r

    return asyncio.run(get())


def _events(app: FastAPI) -> list[Any]:
    sent = app.state.runtime.producer.sent
    assert all(topic == topics.SEARCH_EVENTS for topic, _, _ in sent)
    return [parse(value) for _, value, _ in sent]


def test_a_search_that_finds_nothing_is_published(client: FastAPI) -> None:  # noqa: F811
    r = _get(client, "/search", q="  Zebra   CROSSING?! ", tag="wifi")
    assert r.status_code == 200 and r.json()["items"] == []
    (e,) = _events(client)
    assert e.type == "community.search.SearchPerformed.v1"
    assert e.data.query == "zebra crossing" == e.partitionkey
    assert e.data.result_count == 0 and e.data.endpoint == "search"
    assert e.data.tag == "wifi" and e.data.sample_rate == 1.0
    assert e.actorid is None  # no user id, ever


def test_found_and_similar_are_published_but_not_the_next_pages(client: FastAPI) -> None:  # noqa: F811
    r = _get(client, "/search", q="router", limit=1)
    assert r.status_code == 200 and r.json()["items"]
    cursor = r.json()["next_cursor"]
    if cursor:
        _get(client, "/search", q="router", limit=1, cursor=cursor)
    _get(client, "/similar", title="How to reset the router")
    events = _events(client)
    assert [(e.data.endpoint, e.data.result_count > 0) for e in events] == [
        ("search", True),
        ("similar", True),
    ]


def test_a_failing_broker_never_fails_a_search(client: FastAPI) -> None:  # noqa: F811
    class Down:
        async def send(self, *a: Any, **kw: Any) -> Any:
            raise ConnectionError("broker down")

    client.state.runtime.producer = Down()
    assert _get(client, "/search", q="router").status_code == 200


@pytest.mark.parametrize("rate", [0.25, 1.0])
def test_sampling_publishes_about_that_share(rate: float) -> None:
    async def run() -> list[Any]:
        producer = RecordingProducer()
        log = QueryLog(producer, rate)  # type: ignore[arg-type]
        for i in range(400):
            log.record(f"query {i}", "search", 1)
        await asyncio.sleep(0.05)
        return [parse(v) for _, v, _ in producer.sent]

    events = asyncio.run(run())
    assert 0.6 * rate * 400 <= len(events) <= min(400, 1.4 * rate * 400)
    assert all(e.data.sample_rate == rate for e in events)


def test_a_stuck_broker_bounds_the_pending_sends() -> None:
    async def run() -> QueryLog:
        class Stuck:
            async def send(self, *a: Any, **kw: Any) -> Any:
                await asyncio.sleep(3600)

        log = QueryLog(Stuck())  # type: ignore[arg-type]
        for i in range(1500):
            log.record(f"q{i}", "search", 0)
        await asyncio.sleep(0)
        return log

    log = asyncio.run(run())
    assert log.dropped == 500
