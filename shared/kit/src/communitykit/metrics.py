"""Prometheus metrics every service exports on ``GET /metrics`` (default registry)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests", ["method", "route", "status"]
)
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
CONSUMER_LAG = Gauge(
    "consumer_lag", "Records behind the partition's end", ["topic", "partition", "group"]
)
