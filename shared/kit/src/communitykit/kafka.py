"""Kafka plumbing shared by every service: the idempotent producer, topic creation, readiness."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from schemas import CONTENT_TYPE, topics

from . import metrics
from .telemetry import inject_headers

log = logging.getLogger(__name__)


class Producer:
    """An idempotent producer (acks=all). ``send`` returns the delivery future without
    waiting, so callers pipeline many sends and await them together (one round trip)."""

    def __init__(self, bootstrap_servers: str, client_id: str) -> None:
        self._p = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers,
            client_id=client_id,
            enable_idempotence=True,  # forces acks=all; no duplicates from producer retries
            linger_ms=5,
            request_timeout_ms=15000,
        )
        self._started = False

    async def start(self) -> None:
        await self._p.start()
        self._started = True

    async def stop(self) -> None:
        if self._started:
            await self._p.stop()
            self._started = False

    async def send(
        self,
        topic: str,
        value: bytes,
        *,
        key: bytes | None,
        event_type: str = "",
        headers: list[tuple[str, bytes]] | None = None,
    ) -> asyncio.Future[Any]:
        """Queue one structured-mode CloudEvent record; the current trace goes in its headers."""
        hdrs = headers if headers is not None else [("content-type", CONTENT_TYPE.encode())]
        if event_type:
            hdrs = [*hdrs, ("event-type", event_type.encode())]
        if not any(k == "traceparent" for k, _ in hdrs):  # a DLQ copy keeps the original trace
            hdrs = [*hdrs, *((k, v.encode()) for k, v in inject_headers().items())]
        fut: asyncio.Future[Any] = await self._p.send(topic, value, key=key, headers=hdrs)
        metrics.PUBLISHED.labels(topic).inc()
        return fut


async def ensure_topics(bootstrap_servers: str, names: Iterable[str] = topics.ALL_TOPICS) -> None:
    """Create the topics of SPEC 2.2 with explicit partition counts (idempotent)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="topic-init")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(
                n,
                topics.DLQ_PARTITIONS if n.endswith(".dlq") else topics.EVENT_TOPIC_PARTITIONS,
                1,
            )
            for n in names
            if n not in existing
        ]
        if wanted:
            try:
                await admin.create_topics(wanted)
            except TopicAlreadyExistsError:
                pass
            log.info("created topics %s", [t.name for t in wanted])
    finally:
        await admin.close()


async def kafka_ready(bootstrap_servers: str, timeout: float = 3.0) -> bool:
    """True when a broker answers a metadata request."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers,
        client_id="readyz",
        request_timeout_ms=int(timeout * 1000),
    )
    try:
        await asyncio.wait_for(admin.start(), timeout)
        await asyncio.wait_for(admin.describe_cluster(), timeout)
        return True
    except Exception:  # noqa: BLE001 - any failure means "not ready"
        return False
    finally:
        try:
            await admin.close()
        except Exception:  # noqa: BLE001
            pass
