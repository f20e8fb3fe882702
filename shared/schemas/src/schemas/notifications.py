"""Events of the notifications service (topic ``notifications.events``, key: recipient id).

What analytics needs for its notification metrics (issue 25 item 6: notifications per active
member per week, the suppressed share by reason, read rate) is in these events: every
decision is one ``NotificationDelivered`` (per channel) or one ``NotificationSuppressed``
(with its reason), every digest one ``DigestSent``, every read one ``NotificationRead``.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from .envelope import EventData, UtcDatetime, register

#: P0 transactional, P1 direct, P2 followed activity, P3 suggestions
Priority = Literal["P0", "P1", "P2", "P3"]
Channel = Literal["in_app", "email"]
SuppressionReason = Literal["budget", "quiet_hours", "recently_active", "muted", "unsubscribed"]


class NotificationsEvent(EventData):
    producer: ClassVar[str] = "notifications"


@register
class NotificationDelivered(NotificationsEvent):
    """A notification reached a member through one channel (in-app push or email)."""

    event_name: ClassVar[str] = "NotificationDelivered"
    notification_id: str
    recipient_id: str
    kind: str
    priority: Priority
    channel: Channel
    source_event_id: str
    entry_id: str


@register
class NotificationSuppressed(NotificationsEvent):
    """A notification was held back (folded into the next digest) or dropped (muted)."""

    event_name: ClassVar[str] = "NotificationSuppressed"
    notification_id: str
    recipient_id: str
    kind: str
    priority: Priority
    reason: SuppressionReason
    source_event_id: str
    #: True when the notification waits in the member's next digest
    in_digest: bool


@register
class DigestSent(NotificationsEvent):
    """One digest email sent to one member for one period."""

    event_name: ClassVar[str] = "DigestSent"
    digest_id: str
    recipient_id: str
    period: str
    item_count: int = Field(ge=0)
    kinds: list[str] = Field(default_factory=list)
    sent_at: UtcDatetime


@register
class NotificationRead(NotificationsEvent):
    """A member opened an inbox entry (``entry_id``) or marked everything read (None)."""

    event_name: ClassVar[str] = "NotificationRead"
    recipient_id: str
    entry_id: str | None = None
    notification_count: int = Field(ge=0)
