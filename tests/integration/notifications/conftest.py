"""Fixtures of the notifications suite: the service as a real process on the real broker and
store, and a real SMTP server whose Maildir the tests read (tests/servers.py: ``smtp``)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from schemas import Envelope, new_event, topics
from schemas.forum import PostCreated

from ...conftest import CONSUMES, RUN_ID, ServiceProcess, from_end, service_env
from ...servers import Servers, Smtp, smtp

SUFFIX = "nt"
DATABASE = f"t{RUN_ID}{SUFFIX}_notifications"
DOMAIN = "example.test"
#: digests of tests cover 20-second periods (a day in production)
PERIOD = 20


def uid(name: str) -> str:
    """A user id unique to this run (the topics are shared between runs)."""
    return f"{name}-{RUN_ID}-{uuid.uuid4().hex[:4]}"


def address(member: str) -> str:
    return f"{member}@{DOMAIN}"


@pytest.fixture(scope="session")
def mail() -> Iterator[Smtp]:
    s = smtp()
    print(f"\n[smtp] {s.url} ({s.source}), Maildir {s.maildir}")
    try:
        yield s
    finally:
        s.stop()


def notifications_process(servers: Servers, mail: Smtp, **extra: str) -> ServiceProcess:
    p = ServiceProcess(
        "notifications",
        service_env(
            servers,
            "notifications",
            SUFFIX,
            NOTIFICATIONS_SMTP_URL=mail.url,
            NOTIFICATIONS_EMAIL_DOMAIN=DOMAIN,
            NOTIFICATIONS_DIGEST_PERIOD_SECONDS=str(PERIOD),
            NOTIFICATIONS_DIGEST_GRACE_SECONDS="25",
            NOTIFICATIONS_SEND_POLL_SECONDS="0.3",
            **extra,
        ),
    )
    p.env["NOTIFICATIONS_PUBLIC_URL"] = p.url
    return p


async def positions(bootstrap: str, group: str) -> dict[TopicPartition, int]:
    c = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await c.start()
    try:
        tps = [
            TopicPartition(t, p)
            for t in CONSUMES["notifications"]
            for p in range(topics.EVENT_TOPIC_PARTITIONS)
        ]
        return {tp: (await c.committed(tp)) or 0 for tp in tps}
    finally:
        await c.stop()


@pytest.fixture(scope="session")
def started_at(servers: Servers) -> dict[TopicPartition, int]:
    """The group's start: the end of every consumed topic when the suite began."""
    probe = ServiceProcess("notifications", service_env(servers, "notifications", SUFFIX))
    from_end(servers, probe)
    return asyncio.run(positions(servers.kafka, probe.env["NOTIFICATIONS_CONSUMER_GROUP"]))


@pytest.fixture(scope="session")
def service(
    servers: Servers, mail: Smtp, started_at: dict[TopicPartition, int]
) -> Iterator[ServiceProcess]:
    p = notifications_process(servers, mail).start()
    try:
        yield p
    finally:
        p.stop()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def db(mongo: AsyncMongoClient[dict[str, Any]]) -> AsyncIterator[AsyncDatabase[Any]]:
    yield mongo[DATABASE]


async def produce(bootstrap: str, events: list[Envelope[Any]], topic: str) -> None:
    p = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await p.start()
    try:
        futs = [await p.send(topic, e.to_bytes(), key=e.key, headers=e.headers()) for e in events]
        for f in futs:
            await f
    finally:
        await p.stop()


def thread_events(
    asker: str, repliers: list[str], n: int, title: str = "Printer on fire"
) -> tuple[str, list[Envelope[Any]]]:
    """A question and ``n`` replies within a minute (event times: now, 50 ms apart)."""
    t = uuid.uuid4().hex
    now = datetime.now(UTC)
    out: list[Envelope[Any]] = [
        new_event(
            PostCreated(
                post_id=f"{t}-op",
                thread_id=t,
                kind="question",
                author_id=asker,
                title=title,
                body_length=5,
            ),
            subject=t,
            actor_id=asker,
            time=now,
        )
    ]
    for i in range(n):
        who = repliers[i % len(repliers)]
        out.append(
            new_event(
                PostCreated(
                    post_id=f"{t}-{i}",
                    thread_id=t,
                    kind="reply",
                    author_id=who,
                    body_length=5,
                    body="same here",
                ),
                subject=t,
                actor_id=who,
                time=now + timedelta(milliseconds=50 * i),
            )
        )
    return t, out


async def early_in_a_period(margin: float = 8.0) -> None:
    """Wait until the current digest period has at least ``margin`` seconds left, so that a
    burst's held notifications all belong to one period."""
    left = PERIOD - time.time() % PERIOD
    if left < margin:
        await asyncio.sleep(left + 0.1)


def mails_to(mail: Smtp, member: str, kind: str | None = None) -> list[Any]:
    return [
        m
        for m in mail.messages()
        if m["To"] == address(member) and (kind is None or m["X-Community-Kind"] == kind)
    ]
