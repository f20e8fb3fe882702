"""Analytics HTTP API for gatherings and notifications (issue 23 item 8, issue 25 item 6).

Reads only; each a window of UTC days like ``/overview`` (same parameters, same 422s).
"""

from __future__ import annotations

from datetime import date, timedelta

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from ..domain import gatherings as g
from ..domain import metrics as m
from ..domain import notifications as n
from . import http
from .http import Conf, Db, From, To, window

router = APIRouter(tags=["engagement"])


class _Out(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class GatheringsDay(_Out):
    day: str
    scheduled: int
    cancelled: int
    rsvps: int
    waitlist_promotions: int
    check_ins: int
    guest_questions: int
    guest_questions_answered: int
    giveaway_entries: int
    giveaway_draws: int


class GatheringsSummary(_Out):
    first: str = Field(alias="from", description="first UTC day of the window")
    to: str = Field(description="last UTC day of the window (inclusive)")
    held: int = Field(description="gatherings starting in the window, not cancelled, started")
    scheduled: int
    cancelled: int
    rsvps: int = Field(description="RSVP changes to going, waitlisted or interested")
    going: int = Field(description="seats held at the gatherings held")
    checked_in_going: int = Field(description="check-ins of members who held a seat")
    show_up_rate: float | None = Field(description="checked_in_going ÷ going")
    waitlist_promotions: int
    check_ins: int
    guest_questions: int
    guest_questions_answered: int
    giveaway_entries: int
    giveaway_draws: int
    attendances_compared: int = Field(
        description="check-ins of the window whose 7 days after are over"
    )
    attendee_active_days_before: float | None = Field(
        description="mean days active in the 7 days before a check-in"
    )
    attendee_active_days_after: float | None = Field(
        description="mean days active in the 7 days after a check-in"
    )
    attendee_activity_lift: float | None = Field(description="after ÷ before")
    points: list[GatheringsDay]


class NotificationsDay(_Out):
    day: str
    delivered: int
    suppressed: int
    read: int
    digests_sent: int


class NotificationsSummary(_Out):
    first: str = Field(alias="from", description="first UTC day of the window")
    to: str = Field(description="last UTC day of the window (inclusive)")
    delivered: int = Field(description="deliveries (an in-app and an email delivery: 2)")
    delivered_by_channel: dict[str, int]
    suppressed: int
    suppressed_by_reason: dict[str, int]
    suppressed_share: float | None = Field(description="suppressed ÷ (delivered + suppressed)")
    suppressed_share_by_reason: dict[str, float | None]
    held_for_digest: int = Field(description="suppressed notifications kept for a digest")
    digests_sent: int
    digest_items: int
    read: int = Field(description="notifications marked read")
    read_rate: float | None = Field(description="read ÷ in-app deliveries, at most 1")
    active_users: int = Field(description="distinct actors of any event in the window")
    per_active_member_per_week: float | None = Field(
        description="delivered ÷ active users, times 7 ÷ days of the window"
    )
    points: list[NotificationsDay]


def _iso(d: date) -> str:
    return d.isoformat()


@router.get("/gatherings/overview", response_model=GatheringsSummary, response_model_by_alias=True)
async def gatherings_overview(
    db: Db, settings: Conf, start: From = None, end: To = None
) -> GatheringsSummary:
    """Gatherings held, RSVPs, show-up rate, waitlist promotions, guest questions, giveaway
    entries and the activity of attendees 7 days before and after, over [from, to]."""
    w = window(start, end, settings)
    at = http.now()
    around = (
        _iso(w.start - timedelta(days=g.ACTIVITY_DAYS)),
        _iso(w.end + timedelta(days=g.ACTIVITY_DAYS)),
    )
    body = g.summary(
        g.Span(w.first, w.last, w.closes_at(at), at),
        await db.days(w.first, w.last),
        await db.gatherings(w.first, w.last),
        await db.attendances(w.first, w.last),
        g.active_days(await db.active_days(*around)),
    )
    return GatheringsSummary.model_validate(body)


@router.get(
    "/notifications/overview", response_model=NotificationsSummary, response_model_by_alias=True
)
async def notifications_overview(
    db: Db, settings: Conf, start: From = None, end: To = None
) -> NotificationsSummary:
    """Notifications delivered per active member per week, the suppressed share by reason,
    the read rate and digests, over [from, to]."""
    w = window(start, end, settings)
    active = len(m.active_users(await db.active_days(w.first, w.last)))
    body = n.summary(w.first, w.last, w.days, await db.days(w.first, w.last), active, w.day_list())
    return NotificationsSummary.model_validate(body)
