"""Prometheus ``/metrics`` of the real service processes after real traffic (SPEC 3, 6).

The services run as real processes (``python -m forum`` / ``python -m reputation``, like
the ``stack`` fixture) but with consumer groups of their own that start at the topics'
current end: replaying every earlier run's records first would take longer than the test,
and fresh processes make the counters start from zero.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from schemas.topics import EVENT_TOPIC_PARTITIONS, FORUM_EVENTS

from ..conftest import CONSUMES, ServiceProcess, auth, eventually, group_of, running_stack
from ..servers import Servers

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

Sample = tuple[str, dict[str, str], float]
WATCHED = ("http_requests_total", "messages_", "consumer_lag", "outbox_")


async def scrape(http: httpx.AsyncClient, svc: ServiceProcess) -> list[Sample]:
    r = await http.get(f"{svc.url}/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    return [
        (s.name, dict(s.labels), s.value)
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    ]


def total(samples: list[Sample], name: str, **labels: str) -> float:
    return sum(
        v for n, lb, v in samples if n == name and all(lb.get(k) == x for k, x in labels.items())
    )


@pytest.fixture(scope="module")
def services(servers: Servers) -> Iterator[dict[str, ServiceProcess]]:
    """A fresh forum + reputation of their own, so every counter starts from zero."""
    with running_stack(servers, f"m{uuid.uuid4().hex[:6]}") as procs:
        yield procs


async def test_metrics_after_traffic(
    servers: Servers, services: dict[str, ServiceProcess], http: httpx.AsyncClient
) -> None:
    forum, reputation = services["forum"], services["reputation"]
    group = group_of(reputation)
    before_dlq = total(
        await scrape(http, reputation), "messages_dead_lettered_total", topic=FORUM_EVENTS
    )
    assert before_dlq == 0

    author, voter = f"mia-{uuid.uuid4().hex[:6]}", f"max-{uuid.uuid4().hex[:6]}"
    r = await http.post(
        f"{forum.url}/threads",
        headers=auth(author),
        json={"kind": "question", "title": "Metrics?", "body": "Counted?"},
    )
    assert r.status_code == 201, r.text
    r = await http.put(
        f"{forum.url}/posts/{r.json()['post_id']}/vote", headers=auth(voter), json={"value": 1}
    )
    assert r.status_code == 200, r.text

    # a poison record straight to the topic: reputation must dead-letter it
    producer = AIOKafkaProducer(bootstrap_servers=servers.kafka)
    await producer.start()
    try:
        await producer.send_and_wait(FORUM_EVENTS, b"{not json", key=author.encode())
    finally:
        await producer.stop()

    async def six() -> bool:
        body = (await http.get(f"{reputation.url}/users/{author}")).json()
        return bool(body["reputation"] == 6)

    await eventually(six)

    async def holds(svc: ServiceProcess, check: Callable[[list[Sample]], bool]) -> list[Sample]:
        samples = await scrape(http, svc)
        return samples if check(samples) else []

    async def until(svc: ServiceProcess, check: Callable[[list[Sample]], bool]) -> list[Sample]:
        try:
            return await eventually(lambda: holds(svc, check), timeout=45)  # type: ignore[no-any-return]
        except AssertionError:
            ours = [x for x in await scrape(http, svc) if x[0].startswith(WATCHED)]
            raise AssertionError(f"{svc.name} metrics never settled: {ours}") from None

    # forum: RED metrics per route template, the relay's publishes, a drained outbox
    def forum_ok(s: list[Sample]) -> bool:
        return (
            total(s, "http_requests_total", method="POST", route="/threads", status="201") >= 1
            and total(
                s, "http_requests_total", method="PUT", route="/posts/{post_id}/vote", status="200"
            )
            >= 1
            and total(s, "http_request_duration_seconds_count", route="/threads") >= 1
            and total(s, "messages_published_total", topic=FORUM_EVENTS) >= 2
            and total(s, "outbox_published_total") >= 2
            and total(s, "outbox_backlog") == 0
            and total(s, "outbox_oldest_age_seconds") == 0
        )

    fs = await until(forum, forum_ok)
    # the route template, never the raw path (bounded label values)
    assert not any(
        n == "http_requests_total" and "/posts/" in lb["route"] and "{" not in lb["route"]
        for n, lb, _ in fs
    )
    assert any(n == "outbox_backlog" for n, _, _ in fs)  # present, not just absent

    # reputation: consumed, dead-lettered, caught up (lag 0 on every assigned partition)
    def lag(s: list[Sample]) -> dict[tuple[str, str], float]:
        return {
            (lb["topic"], lb["partition"]): v
            for n, lb, v in s
            if n == "consumer_lag" and lb.get("group") == group
        }

    def reputation_ok(s: list[Sample]) -> bool:
        lags = lag(s)
        return (
            total(s, "messages_consumed_total", topic=FORUM_EVENTS, group=group) >= 2
            and total(s, "messages_dead_lettered_total", topic=FORUM_EVENTS, group=group) == 1
            and total(s, "messages_published_total", topic=f"{FORUM_EVENTS}.dlq") == 1
            and total(s, "http_requests_total", route="/users/{user_id}", status="200") >= 1
            # every assigned partition of every topic it reads, not only those with traffic
            and len(lags) == len(CONSUMES["reputation"]) * EVENT_TOPIC_PARTITIONS
            and all(v == 0 for v in lags.values())
            and total(s, "outbox_backlog") == 0
            and total(s, "outbox_oldest_age_seconds") == 0
        )

    await until(reputation, reputation_ok)
