"""Prometheus metrics every service exports on ``GET /metrics`` (default registry).

=================================  =========  ==========================================
metric                             type       labels
=================================  =========  ==========================================
http_requests_total                counter    method, route (template), status
http_request_duration_seconds      histogram  method, route
messages_published_total           counter    topic (every record the kit produces)
messages_consumed_total            counter    topic, group (after the batch is committed)
messages_failed_total              counter    topic, group (failed batches, retried)
messages_dead_lettered_total       counter    topic, group (records sent to <topic>.dlq)
consumer_lag                       gauge      topic, partition, group
outbox_published_total             counter    -
outbox_backlog                     gauge      - (computed at scrape time)
outbox_oldest_age_seconds          gauge      - (0 when drained; computed at scrape time)
http_requests_in_flight            gauge      - (requests being handled by this process)
http_requests_shed_total           counter    - (answered 503 at once: in-flight limit)
http_writes_rate_limited_total     counter    - (answered 429: per-user write limit)
store_commands_total               counter    command, origin (MongoDB commands sent:
                                              http, consumer, outbox_relay, metrics
                                              (the scrape's outbox stats) or other)
=================================  =========  ==========================================

``store_commands_total`` counts every command the service's client sends (a PyMongo
``CommandListener``, :class:`StoreCommands`), by the work that sent it (:data:`ORIGIN`): the
store round trips a write costs, and what the relay and consumers add per event, can be read
off ``/metrics`` before and after a load (benchmarks/forum.py does).
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextvars import ContextVar
from typing import Any

from prometheus_client import Counter, Gauge, Histogram
from pymongo import monitoring
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

HTTP_REQUESTS = Counter("http_requests_total", "HTTP requests", ["method", "route", "status"])
HTTP_DURATION = Histogram(
    "http_request_duration_seconds", "HTTP request duration", ["method", "route"]
)
CONSUMED = Counter("messages_consumed_total", "Kafka records consumed", ["topic", "group"])
FAILED = Counter(
    "messages_failed_total", "Kafka records or batches that failed processing", ["topic", "group"]
)
DLQ = Counter("messages_dead_lettered_total", "Records sent to a DLQ", ["topic", "group"])
PUBLISHED = Counter("messages_published_total", "Kafka records published", ["topic"])
OUTBOX_PUBLISHED = Counter("outbox_published_total", "Outbox entries published")
OUTBOX_BACKLOG = Gauge("outbox_backlog", "Outbox entries not yet published")
OUTBOX_OLDEST_AGE = Gauge(
    "outbox_oldest_age_seconds", "Age of the oldest unpublished outbox entry (0 when empty)"
)
HTTP_IN_FLIGHT = Gauge("http_requests_in_flight", "HTTP requests being handled")
SHED_REQUESTS = Counter(
    "http_requests_shed", "HTTP requests answered 503 at once (in-flight limit reached)"
)
RATE_LIMITED = Counter(
    "http_writes_rate_limited", "HTTP writes answered 429 (per-user write rate limit)"
)
CONSUMER_LAG = Gauge(
    "consumer_lag", "Records behind the partition's end", ["topic", "partition", "group"]
)
STORE_COMMANDS = Counter(
    "store_commands", "MongoDB commands sent by this process", ["command", "origin"]
)

#: the work a MongoDB command is sent for (``store_commands_total``'s ``origin``): set by the
#: HTTP middleware (``http``), the kit's consumers (``consumer``), the outbox relay
#: (``outbox_relay``) and ``/metrics``' outbox stats (``metrics``); anything else (start-up,
#: background jobs) is ``other``
ORIGIN: ContextVar[str] = ContextVar("store_origin", default="other")


class StoreCommands(monitoring.CommandListener):
    """Counts the commands a client sends (``store_commands_total``). PyMongo calls
    ``started`` in the task that sends the command, so :data:`ORIGIN` is that task's."""

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        STORE_COMMANDS.labels(event.command_name, ORIGIN.get()).inc()

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


async def refresh_consumer_lag(broker: Any, wait: float = 5.0) -> None:
    """Set ``consumer_lag`` of every assigned partition of every started subscriber of
    ``broker``: end offset - committed offset (the position when nothing is committed yet),
    so a caught-up partition reads 0 even when it received nothing recently."""
    for sub in list(getattr(broker, "subscribers", ())):
        consumer = getattr(sub, "consumer", None)
        group = getattr(sub, "group_id", None)
        if consumer is None or not group:
            continue
        try:
            tps = list(consumer.assignment())
            if not tps:
                continue
            ends = await asyncio.wait_for(consumer.end_offsets(tps), wait)
            for tp in tps:
                done = await asyncio.wait_for(consumer.committed(tp), wait)
                if done is None:
                    done = await asyncio.wait_for(consumer.position(tp), wait)
                end = ends.get(tp)
                if end is None or done is None:
                    continue
                CONSUMER_LAG.labels(tp.topic, str(tp.partition), group).set(max(0, end - done))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.debug("consumer lag refresh failed for %s", group, exc_info=True)


class RedMetrics:
    """ASGI middleware: ``http_requests_total`` and ``http_request_duration_seconds`` per
    method and route template (``unmatched`` when no route matched; status 500 when the app
    raised before answering)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        origin = ORIGIN.set("http")

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            # the router records the matched route in this same scope
            path = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"]
            HTTP_REQUESTS.labels(method, path, str(status)).inc()
            HTTP_DURATION.labels(method, path).observe(time.perf_counter() - start)
            ORIGIN.reset(origin)
