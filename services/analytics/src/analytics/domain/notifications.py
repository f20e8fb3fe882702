"""Notification metrics (issue 25 item 6): notifications.events → day counters, and the
window's figures. Pure.

Counters (``days.c.n_*``): deliveries per channel, suppressions per reason (and how many
wait in a digest), digests sent and the items they listed, notifications read.

Definitions, over a window of UTC days:

* **delivered**: ``NotificationDelivered`` events; a notification delivered in-app and
  by email counts twice: it interrupted its member twice (the budget's own unit).
* **notifications per active member per week**: delivered ÷ active users of the window
  (SPEC 5), times 7 ÷ the window's days.
* **suppressed share** per reason: suppressed for that reason ÷ (delivered + suppressed):
  of the interruptions the service considered, the share held back for that reason
  (``budget``, ``quiet_hours``, ``recently_active``, ``muted``, ``unsubscribed``).
* **read rate**: notifications marked read ÷ in-app deliveries in the window (reads of
  earlier deliveries count where they happen, so the ratio is capped at 1).
* **digests** sent and the notifications they listed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, get_args

from schemas import notifications as n

from .changes import Ops

REASONS: tuple[str, ...] = get_args(n.SuppressionReason)
CHANNELS: tuple[str, ...] = get_args(n.Channel)


class NotificationChanges:
    """The changes of notifications events (a mixin of
    :class:`analytics.domain.events.Changes`)."""

    def _on_NotificationDelivered(
        self, d: n.NotificationDelivered, t: Any, day: str, dayops: Ops, _: Any
    ) -> None:
        dayops.inc["c.n_delivered"] = 1
        dayops.inc[f"c.n_delivered_{d.channel}"] = 1

    def _on_NotificationSuppressed(
        self, d: n.NotificationSuppressed, t: Any, day: str, dayops: Ops, _: Any
    ) -> None:
        dayops.inc["c.n_suppressed"] = 1
        dayops.inc[f"c.n_suppressed_{d.reason}"] = 1
        if d.in_digest:
            dayops.inc["c.n_in_digest"] = 1

    def _on_DigestSent(self, d: n.DigestSent, t: Any, day: str, dayops: Ops, _: Any) -> None:
        dayops.inc["c.n_digests"] = 1
        dayops.inc["c.n_digest_items"] = d.item_count

    def _on_NotificationRead(
        self, d: n.NotificationRead, t: Any, day: str, dayops: Ops, _: Any
    ) -> None:
        dayops.inc["c.n_read"] = d.notification_count


def counters(days: Iterable[dict[str, Any]]) -> dict[str, int]:
    """Window totals of the ``c.n_*`` counters (without the prefix)."""
    out: dict[str, int] = {}
    for d in days:
        for key, v in d.get("c", {}).items():
            if key.startswith("n_"):
                out[key[2:]] = out.get(key[2:], 0) + int(v)
    return out


def figures(c: dict[str, int], active_users: int, window_days: int) -> dict[str, Any]:
    """The window's figures from its counter totals (see the module docstring)."""
    delivered = c.get("delivered", 0)
    suppressed = c.get("suppressed", 0)
    considered = delivered + suppressed
    in_app = c.get("delivered_in_app", 0)
    read = c.get("read", 0)
    per_week = delivered / active_users * 7 / window_days if active_users else None
    return {
        "delivered": delivered,
        "delivered_by_channel": {ch: c.get(f"delivered_{ch}", 0) for ch in CHANNELS},
        "suppressed": suppressed,
        "suppressed_by_reason": {r: c.get(f"suppressed_{r}", 0) for r in REASONS},
        "suppressed_share": round(suppressed / considered, 4) if considered else None,
        "suppressed_share_by_reason": {
            r: (round(c.get(f"suppressed_{r}", 0) / considered, 4) if considered else None)
            for r in REASONS
        },
        "held_for_digest": c.get("in_digest", 0),
        "digests_sent": c.get("digests", 0),
        "digest_items": c.get("digest_items", 0),
        "read": read,
        "read_rate": round(min(1.0, read / in_app), 4) if in_app else None,
        "active_users": active_users,
        "per_active_member_per_week": round(per_week, 3) if per_week is not None else None,
    }


def summary(
    first: str,
    last: str,
    window_days: int,
    days: list[dict[str, Any]],
    active_users: int,
    day_list: list[str],
) -> dict[str, Any]:
    """The window's figures and one point per day (delivered, suppressed, read, digests)."""
    by_day = {d["_id"]: d for d in days}
    points = []
    for day in day_list:
        c = counters([by_day[day]] if day in by_day else [])
        points.append(
            {
                "day": day,
                "delivered": c.get("delivered", 0),
                "suppressed": c.get("suppressed", 0),
                "read": c.get("read", 0),
                "digests_sent": c.get("digests", 0),
            }
        )
    return {
        "from": first,
        "to": last,
        **figures(counters(days), active_users, window_days),
        "points": points,
    }
