"""The query log: one ``SearchPerformed`` on ``search.events`` per answered query (issue 26
item 4, listening's search gaps), without slowing the request.

Best effort, on purpose: this is telemetry, not a write anybody was promised. The request
only queues a background send and answers; the send is not awaited by anyone, there is no
outbox (search owns no database), and a record is LOST when the broker is down or the process
stops before the send completes, or when more than ``MAX_PENDING`` sends are already queued
(a broker outage must not grow memory without bound). No user id is sent, only the
normalised query (``schemas.search.normalize_query``), which endpoint, the result count and
the filters. ``SEARCH_QUERY_SAMPLE_RATE`` < 1 publishes that share of queries (recorded in
each event, so listening scales its counts back up).
"""

from __future__ import annotations

import asyncio
import logging
import random

from communitykit.kafka import Producer
from schemas import new_event, topics
from schemas.search import SearchPerformed, normalize_query

log = logging.getLogger(__name__)

#: sends queued and not yet acknowledged beyond which new ones are dropped
MAX_PENDING = 1000


class QueryLog:
    def __init__(self, producer: Producer, sample_rate: float = 1.0) -> None:
        self.producer = producer
        self.sample_rate = sample_rate
        self._pending: set[asyncio.Task[None]] = set()
        self.dropped = 0

    def record(
        self,
        text: str,
        endpoint: str,
        result_count: int,
        *,
        kind: str | None = None,
        group_id: str | None = None,
        tag: str | None = None,
        product_id: str | None = None,
    ) -> None:
        """Queue the event of one answered query (returns at once; never raises)."""
        try:
            query = normalize_query(text)
            if not query or (self.sample_rate < 1 and random.random() >= self.sample_rate):
                return
            if len(self._pending) >= MAX_PENDING:
                self.dropped += 1
                return
            data = SearchPerformed(
                query=query,
                endpoint=endpoint,  # type: ignore[arg-type]
                result_count=result_count,
                sample_rate=self.sample_rate,
                kind=kind,
                group_id=group_id,
                tag=tag,
                product_id=product_id,
            )
            task = asyncio.create_task(self._send(data))
        except Exception:  # telemetry never fails a search
            log.debug("query not logged", exc_info=True)
            return
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _send(self, data: SearchPerformed) -> None:
        event = new_event(data, subject=data.query)
        try:
            ack = await self.producer.send(
                topics.SEARCH_EVENTS,
                event.to_bytes(),
                key=data.query.encode(),
                event_type=event.type,
            )
            await ack
        except Exception:  # best effort: see the module docstring
            log.debug("SearchPerformed not published", exc_info=True)
