"""Calendar feeds over HTTP: a gathering's .ics parses with icalendar and a weekly series
across the end of summer time keeps its local start; a member's feed behind a revocable
token lists the gatherings they are going to (the rsvps projection of our own events)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
import recurring_ical_events
from icalendar import Calendar

from ...conftest import ServiceProcess, auth, eventually
from .conftest import rsvp, schedule, uid

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

NEW_YORK = ZoneInfo("America/New_York")


def next_dst_end() -> datetime:
    """18:00 New York on a day two weeks before the next end of summer time (first Sunday of
    November), so a weekly series of 4 crosses it."""
    year = datetime.now(UTC).year
    while True:
        nov1 = datetime(year, 11, 1, tzinfo=NEW_YORK)
        sunday = nov1 + timedelta(days=(6 - nov1.weekday()) % 7)
        start = (sunday - timedelta(days=14)).replace(hour=18)
        if start > datetime.now(UTC) + timedelta(days=1):
            return start
        year += 1


async def test_ics_of_a_weekly_series_across_dst(
    gatherings: ServiceProcess, http: httpx.AsyncClient
) -> None:
    start = next_dst_end()
    gid = await schedule(
        http,
        gatherings.url,
        title="Weekly office hours",
        starts_at=start.isoformat(),
        ends_at=(start + timedelta(hours=1)).isoformat(),
        timezone="America/New_York",
        recurrence="FREQ=WEEKLY;COUNT=4",
    )
    r = await http.get(f"{gatherings.url}/gatherings/{gid}.ics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
    cal = Calendar.from_ical(r.content)
    [event] = cal.walk("VEVENT")
    assert str(event["summary"]) == "Weekly office hours"
    found = recurring_ical_events.of(cal).between(
        start - timedelta(days=1), start + timedelta(days=30)
    )
    local = [e["DTSTART"].dt.astimezone(NEW_YORK) for e in found]
    assert len(local) == 4 and all((t.hour, t.minute) == (18, 0) for t in local)
    utc_hours = [t.astimezone(UTC).hour for t in local]
    assert utc_hours == [22, 22, 23, 23]  # EDT then EST: the wall clock wins
    assert (await http.get(f"{gatherings.url}/gatherings/nope.ics")).status_code == 404


async def test_member_feed_with_a_revocable_token(
    gatherings: ServiceProcess, http: httpx.AsyncClient
) -> None:
    url = gatherings.url
    member = uid("cal")
    going, skipped = (
        await schedule(http, url, title="Going to this"),
        await schedule(http, url, title="Not this"),
    )
    await rsvp(http, url, going, member)
    await rsvp(http, url, skipped, member, "not_going")
    r = await http.post(f"{url}/members/me/calendar-token", headers=auth(member))
    assert r.status_code == 200
    feed = f"{url}{r.json()['url']}"

    async def listed() -> list[str] | None:
        resp = await http.get(feed)
        assert resp.status_code == 200, resp.text
        titles = [str(e["summary"]) for e in Calendar.from_ical(resp.content).walk("VEVENT")]
        return titles if titles else None

    assert await eventually(listed) == ["Going to this"]
    bad = await http.get(f"{url}/members/{member}/calendar.ics", params={"token": "wrong"})
    assert bad.status_code == 403 and bad.json()["field"] == "token"
    assert (
        await http.delete(f"{url}/members/me/calendar-token", headers=auth(member))
    ).status_code == 204
    assert (await http.get(feed)).status_code == 403
    assert (await http.get(f"{url}/members/{member}/calendar.ics")).status_code == 422
