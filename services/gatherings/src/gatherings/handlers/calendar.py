"""Calendar feeds (RFC 5545, written with ``icalendar``): one gathering's ``.ics`` and a
member's feed behind a revocable token (a calendar app cannot send a JWT).

A recurring gathering is ONE VEVENT with its RRULE and a ``DTSTART;TZID=...`` in its own time
zone, plus the VTIMEZONE (``add_missing_timezones``): calendar apps then expand it in local
time, so a weekly 18:00 Paris series stays at 18:00 across the DST change.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vRecur

from communitykit.auth import Principal

from ..adapters.documents import to_gathering
from ..adapters.stores import Stores
from ..domain.errors import NotAllowedError
from ..domain.gathering import Gathering
from ..views import CalendarToken
from .common import now

PRODID = "-//Community//Gatherings//EN"
#: statuses whose gatherings a member's feed shows
IN_FEED = ["going", "waitlisted", "interested"]
FEED_LIMIT = 500


def _vevent(g: Gathering, stamp: datetime) -> Event:
    tz = ZoneInfo(g.timezone)
    ev = Event()
    ev.add("uid", f"{g.gathering_id}@gatherings.community")
    ev.add("dtstamp", stamp)
    ev.add("dtstart", g.starts_at.astimezone(tz))
    ev.add("dtend", g.ends_at.astimezone(tz))
    ev.add("summary", g.title)
    ev.add("description", g.description + (f"\n\nJoin: {g.join_url}" if g.join_url else ""))
    if g.join_url:
        ev.add("url", g.join_url)
        ev.add("location", g.join_url)
    if g.recurrence:
        ev.add("rrule", vRecur.from_ical(g.recurrence))
    ev.add("status", "CANCELLED" if g.status == "cancelled" else "CONFIRMED")
    return ev


def calendar_of(gatherings: Iterable[Gathering], name: str) -> bytes:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("x-wr-calname", name)
    stamp = now()
    for g in gatherings:
        cal.add_component(_vevent(g, stamp))
    cal.add_missing_timezones()
    out: bytes = cal.to_ical()
    return out


async def gathering_ics(stores: Stores, gathering_id: str) -> bytes:
    """GET /gatherings/{id}.ics"""
    g = await stores.gatherings.get(gathering_id)
    return calendar_of([g], g.title)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_token(stores: Stores, user: Principal) -> CalendarToken:
    """POST /members/me/calendar-token: a new token (the previous one stops working)."""
    token = secrets.token_urlsafe(24)
    await stores.db.calendar_tokens.update_one(
        {"_id": user.user_id},
        {"$set": {"token_hash": _hash(token), "issued_at": now()}},
        upsert=True,
    )
    return CalendarToken(token=token, url=f"/members/{user.user_id}/calendar.ics?token={token}")


async def revoke_token(stores: Stores, user: Principal) -> None:
    """DELETE /members/me/calendar-token"""
    await stores.db.calendar_tokens.delete_one({"_id": user.user_id})


async def member_ics(stores: Stores, member_id: str, token: str) -> bytes:
    """GET /members/{id}/calendar.ics?token=: the gatherings the member is going to,
    waitlisted for or interested in (the ``rsvps`` projection, by member)."""
    d = await stores.db.calendar_tokens.find_one({"_id": member_id})
    if d is None or not secrets.compare_digest(d.get("token_hash", ""), _hash(token)):
        raise NotAllowedError("unknown or revoked calendar token", field="token")
    rows = await (
        stores.db.rsvps.find(
            {"user_id": member_id, "status": {"$in": IN_FEED}}, {"gathering_id": 1}
        )
        .limit(FEED_LIMIT)
        .to_list(None)
    )
    ids = [r["gathering_id"] for r in rows]
    docs = await stores.db.gatherings.find(
        {"_id": {"$in": ids}}, {"outbox": 0, "idem": 0, "pending": 0}
    ).to_list(None)
    gs = sorted((to_gathering(x) for x in docs), key=lambda g: g.starts_at)
    return calendar_of(gs, "My gatherings")
