"""Recurrences and .ics: a weekly series across a DST change keeps its local start time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import recurring_ical_events
from icalendar import Calendar

from communitykit.auth import Principal
from gatherings.domain.commands import ScheduleGathering
from gatherings.domain.gathering import Gathering
from gatherings.domain.recurrence import occurrences
from gatherings.handlers.calendar import calendar_of

PARIS = ZoneInfo("Europe/Paris")


def weekly() -> Gathering:
    start = datetime(2026, 10, 15, 18, 0, tzinfo=PARIS)  # CEST; DST ends on 25 October
    cmd = ScheduleGathering.model_validate(
        {
            "title": "Weekly office hours",
            "description": "Bring questions",
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=1)).isoformat(),
            "timezone": "Europe/Paris",
            "recurrence": "FREQ=WEEKLY;COUNT=4",
        }
    )
    now = datetime(2026, 10, 1, tzinfo=UTC)
    return Gathering.schedule(cmd, Principal("s", roles=frozenset({"staff"})), now, "g1", [])[0]


def test_occurrences_keep_local_time_across_dst() -> None:
    g = weekly()
    starts = occurrences(g.starts_at, g.timezone, g.recurrence)
    assert [s.astimezone(PARIS).hour for s in starts] == [18, 18, 18, 18]
    assert [s.hour for s in starts] == [16, 16, 17, 17]  # UTC moves with the DST change


def test_ics_parses_and_expands_in_local_time() -> None:
    ics = calendar_of([weekly()], "test")
    cal = Calendar.from_ical(ics)
    [ev] = cal.walk("VEVENT")
    assert str(ev["summary"]) == "Weekly office hours"
    assert cal.walk("VTIMEZONE"), "the VTIMEZONE is included"
    found = recurring_ical_events.of(cal).between(datetime(2026, 10, 1), datetime(2026, 12, 1))
    assert len(found) == 4
    local = [e["DTSTART"].dt.astimezone(PARIS) for e in found]
    assert all(t.hour == 18 and t.minute == 0 for t in local)
    assert [e["DTSTART"].dt.astimezone(UTC).hour for e in found] == [16, 16, 17, 17]


def test_until_rule() -> None:
    start = datetime(2026, 10, 15, 18, 0, tzinfo=PARIS)
    starts = occurrences(start.astimezone(UTC), "Europe/Paris", "FREQ=DAILY;UNTIL=20261018T235959Z")
    assert len(starts) == 4
