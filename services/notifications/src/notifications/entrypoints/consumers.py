"""Subscriber: every other topic (and our own for reads) -> decisions, inbox, digests."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from communitykit.app import Runtime
from communitykit.consumer import BatchConsumer, Received
from schemas import topics

from ..adapters.mongo import NotificationsDb
from ..config import Settings
from ..projections.inbox import InboxProjection

#: every topic whose events may call for a notification, and ours (NotificationRead)
SOURCES = (
    topics.FORUM_EVENTS,
    topics.IDEAS_EVENTS,
    topics.REPUTATION_EVENTS,
    topics.GATHERINGS_EVENTS,
    topics.MEDIA_EVENTS,
    topics.ANALYTICS_EVENTS,
    topics.NOTIFICATIONS_EVENTS,
)


def projection_of(
    db: NotificationsDb, settings: Settings, *, publish: bool = True
) -> InboxProjection:
    return InboxProjection(
        db,
        publish=publish,
        staff=frozenset(s.strip() for s in settings.staff_ids.split(",") if s.strip()),
        email_domain=settings.email_domain,
        digest_period_seconds=settings.digest_period_seconds,
        digest_grace_seconds=settings.digest_grace_seconds,
    )


def register(
    runtime: Runtime, settings: Settings, wake_sender: Callable[[], None]
) -> BatchConsumer:
    projection = projection_of(NotificationsDb(runtime.db), settings)

    async def on_events(batch: Sequence[Received]) -> None:
        """Every consumed topic -> notifications, inbox entries, digest items, member budgets
        (idempotent per partition offset and per deterministic notification id)."""
        await projection.apply(batch)
        runtime.notify_outbox()
        if projection.emails_decided:
            wake_sender()

    return BatchConsumer(
        runtime.broker,
        SOURCES,
        group_id=settings.consumer_group,
        handler=on_events,
        producer=runtime.producer,
        max_records=settings.consumer_max_records,
        retry_seconds=settings.consumer_retry_seconds,
    )
