"""Idempotent batch consumption: the one way every service consumes events.

Per batch (FastStream batch subscriber, ``AckPolicy.MANUAL``):

1. parse every record; a poison record (bad JSON, schema violation, unknown version of a
   known event) is sent to ``<topic>.dlq`` with the SPEC 2.2 headers, an entirely unknown
   type is skipped (forward compatibility);
2. call the service's handler once with the valid events (it folds them in memory and does
   one unordered bulk write, idempotent per event id);
3. wait for the DLQ sends, then commit the offsets once for the whole batch.

If the handler raises (MongoDB down...), nothing is committed: the consumer seeks back to
the batch's first offsets and retries after a pause, so nothing is lost and the handler's
idempotency makes the retry harmless. Redelivery after a crash works the same way.

Tracing: the batch's processing span (``<topic> process``, CONSUMER) is a child of the
first traced record's producer span (W3C ``traceparent`` header) and links every record's
producer span, so a request's trace continues into the consumer; the handler's Mongo
commands and any outbox entries it writes nest under that span.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import ConsumerRebalanceListener
from aiokafka.structs import ConsumerRecord, TopicPartition
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from opentelemetry import context as otel_context
from opentelemetry import trace

from schemas import Envelope, PoisonEventError, UnknownEventTypeError, parse, topics

from . import kafka_offsets, metrics
from .kafka import Producer
from .outbox import cancel_requested
from .telemetry import extract_context, has_span, links_from

log = logging.getLogger(__name__)
kafka_offsets.install()  # committed offsets survive a broker restart (see the module)


@dataclass(frozen=True)
class Received:
    """A valid event and where it came from."""

    event: Envelope[Any]
    topic: str
    partition: int
    offset: int


BatchHandler = Callable[[Sequence[Received]], Awaitable[None]]


def dlq_record_headers(
    record: ConsumerRecord[Any, Any], error: BaseException, group_id: str
) -> list[tuple[str, bytes]]:
    """Original headers plus the ``dlq-*`` headers of SPEC 2.2 (all UTF-8 text)."""
    failed_at = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    extra = {
        "dlq-error": f"{type(error).__name__}: {error}"[:1000],
        "dlq-original-topic": record.topic,
        "dlq-original-partition": str(record.partition),
        "dlq-original-offset": str(record.offset),
        "dlq-consumer-group": group_id,
        "dlq-failed-at": failed_at,
    }
    original = [(k, v) for k, v in (record.headers or ()) if not k.startswith("dlq-")]
    return [*original, *((k, v.encode()) for k, v in extra.items())]


class BatchConsumer:
    """Registers one FastStream batch subscriber for ``topic_names`` in ``group_id``."""

    def __init__(
        self,
        broker: KafkaBroker,
        topic_names: Sequence[str],
        *,
        group_id: str,
        handler: BatchHandler,
        producer: Producer,
        max_records: int = 500,
        retry_seconds: float = 1.0,
        listener: ConsumerRebalanceListener | None = None,
    ) -> None:
        """``listener``: optional rebalance listener, e.g. to seek each assigned partition to
        a position the service stores with its own state (the search index does)."""
        self.group_id = group_id
        self._handler = handler
        self._producer = producer
        self._retry = retry_seconds
        self._tracer = trace.get_tracer("communitykit.consumer")
        self._topic_names = list(topic_names)
        self.subscriber = broker.subscriber(
            *topic_names,
            group_id=group_id,
            batch=True,
            max_records=max_records,
            batch_timeout_ms=200,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.MANUAL,  # commit only after our write is acknowledged
            max_poll_interval_ms=300000,
            listener=listener,
        )
        self.subscriber(self._consume)

    async def _consume(self, msg: KafkaMessage) -> None:
        origin = metrics.ORIGIN.set("consumer")
        try:
            await self._consume_batch(msg)
        finally:
            metrics.ORIGIN.reset(origin)

    async def _consume_batch(self, msg: KafkaMessage) -> None:
        raw = msg.raw_message
        records: tuple[ConsumerRecord[Any, Any], ...] = raw if isinstance(raw, tuple) else (raw,)
        contexts = [extract_context(r.headers or ()) for r in records]
        # parent: the first record that carries a trace (a poison record may carry none)
        parent = next((c for c in contexts if has_span(c)), otel_context.Context())
        batch_topics = sorted({r.topic for r in records}) or self._topic_names
        with self._tracer.start_as_current_span(
            f"{','.join(batch_topics)} process",
            context=parent,
            kind=trace.SpanKind.CONSUMER,
            links=links_from(contexts),
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "process",
                "messaging.destination.name": ",".join(batch_topics),
                "messaging.consumer.group.name": self.group_id,
                "messaging.batch.message_count": len(records),
            },
        ) as span:
            try:
                try:
                    valid, dead = await self._sort(records)
                    if valid:
                        await self._handler(valid)
                    await asyncio.gather(*dead)  # DLQ copies are durable before we commit
                    await msg.ack()
                except asyncio.CancelledError as e:
                    if cancel_requested():
                        raise  # shutdown
                    # leaked by a client library whose server went away: a failed batch
                    raise RuntimeError("batch interrupted by a cancelled I/O task") from e
            except Exception as e:
                span.record_exception(e)
                span.set_status(trace.StatusCode.ERROR)
                for t in {r.topic for r in records}:
                    metrics.FAILED.labels(t, self.group_id).inc()
                log.warning("batch of %d failed; retrying", len(records), exc_info=True)
                await asyncio.sleep(self._retry)
                await msg.nack()  # seek back to the batch start on every partition
                return
        for r in records:
            metrics.CONSUMED.labels(r.topic, self.group_id).inc()
        self._record_lag(msg, records)

    async def _sort(
        self, records: Sequence[ConsumerRecord[Any, Any]]
    ) -> tuple[list[Received], list[asyncio.Future[Any]]]:
        valid: list[Received] = []
        dead: list[asyncio.Future[Any]] = []
        for r in records:
            try:
                if r.value is None:
                    raise PoisonEventError("empty record value (tombstone)")
                env = parse(r.value)
            except UnknownEventTypeError:
                continue  # forward compatibility: not ours to understand
            except PoisonEventError as e:
                log.warning("poison record %s/%d/%d: %s", r.topic, r.partition, r.offset, e)
                dead.append(
                    await self._producer.send(
                        topics.dlq(r.topic),
                        r.value or b"",
                        key=r.key,
                        headers=dlq_record_headers(r, e, self.group_id),
                    )
                )
                metrics.DLQ.labels(r.topic, self.group_id).inc()
                continue
            valid.append(Received(env, r.topic, r.partition, r.offset))
        return valid, dead

    def _record_lag(self, msg: KafkaMessage, records: Sequence[ConsumerRecord[Any, Any]]) -> None:
        consumer = getattr(msg, "consumer", None)
        if consumer is None:
            return
        last: dict[TopicPartition, int] = {}
        for r in records:
            last[TopicPartition(r.topic, r.partition)] = r.offset
        for tp, off in last.items():
            hw = consumer.highwater(tp)
            if hw is not None:
                metrics.CONSUMER_LAG.labels(tp.topic, str(tp.partition), self.group_id).set(
                    max(0, hw - off - 1)
                )
