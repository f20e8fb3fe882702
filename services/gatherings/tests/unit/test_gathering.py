"""The Gathering aggregate: seats, waitlist in arrival order, promotion exactly once,
reminders, check-in window, bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from communitykit.auth import Principal
from communitykit.problems import ProblemError
from gatherings.domain.commands import ScheduleGathering, UpdateGathering
from gatherings.domain.errors import GatheringClosedError, InvalidCommandError, NotAllowedError
from gatherings.domain.gathering import Gathering

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
STAFF = Principal("staff-1", roles=frozenset({"staff"}))


def make(capacity: int | None = 2, **extra: object) -> Gathering:
    cmd = ScheduleGathering.model_validate(
        {
            "title": "Roadmap AMA",
            "description": "Ask anything",
            "starts_at": (NOW + timedelta(days=2)).isoformat(),
            "ends_at": (NOW + timedelta(days=2, hours=1)).isoformat(),
            "timezone": "Europe/Paris",
            "capacity": capacity,
            **extra,
        }
    )
    g, events = Gathering.schedule(cmd, STAFF, NOW, "g1", [86400, 3600])
    assert [e.type for e in events] == ["community.gatherings.GatheringScheduled.v1"]
    return g


def names(events: list) -> list[str]:  # type: ignore[type-arg]
    return [e.type.split(".")[2] for e in events]


def test_going_until_full_then_waitlisted_in_arrival_order() -> None:
    g = make(capacity=2)
    for u in ["a", "b", "c", "d"]:
        g.rsvp(u, "going", NOW)
    assert g.seats_taken == 2
    assert [g.member(u).status for u in "abcd"] == ["going", "going", "waitlisted", "waitlisted"]  # type: ignore[union-attr]
    assert g.position("c") == 1 and g.position("d") == 2
    assert g.rsvp("c", "going", NOW) == []  # a repeat changes nothing


def test_a_freed_seat_promotes_the_first_waitlisted_once() -> None:
    g = make(capacity=1)
    g.rsvp("a", "going", NOW)
    g.rsvp("b", "going", NOW)
    g.rsvp("c", "going", NOW)
    events = g.rsvp("a", "not_going", NOW)
    assert names(events) == ["RsvpChanged", "RsvpChanged", "SeatOffered"]
    assert events[1].data.user_id == "b" and events[1].data.promoted
    assert events[2].data.freed_by == "a"
    assert g.member("b").status == "going" and g.position("c") == 1  # type: ignore[union-attr]
    assert g.rsvp("a", "not_going", NOW) == []  # no second promotion
    assert g.seats_taken == 1


def test_leaving_the_waitlist_moves_the_others_up() -> None:
    g = make(capacity=1)
    for u in "abcd":
        g.rsvp(u, "going", NOW)
    g.rsvp("c", "interested", NOW)
    assert g.position("d") == 2 - 1 + 1 - 1 + 1  # b is 1st, d is 2nd
    assert g.waitlist == [g.waitlist[0], g.waitlist[1]] and g.position("b") == 1


def test_raising_the_capacity_promotes_and_lowering_below_taken_is_refused() -> None:
    g = make(capacity=1)
    for u in "abc":
        g.rsvp(u, "going", NOW)
    events = g.update(UpdateGathering(capacity=2), STAFF, NOW)
    assert names(events) == ["GatheringUpdated", "RsvpChanged", "SeatOffered"]
    assert events[2].data.freed_by is None
    with pytest.raises(ProblemError) as e:
        g.update(UpdateGathering(capacity=1), STAFF, NOW)
    assert e.value.status == 409 and e.value.field == "capacity"


def test_rsvp_refused_when_cancelled_or_closed() -> None:
    g = make()
    with pytest.raises(GatheringClosedError):
        g.rsvp("a", "going", NOW + timedelta(days=3))
    g.rsvp("a", "going", NOW)
    g.rsvp("b", "going", NOW)
    g.rsvp("c", "going", NOW)
    [cancelled] = g.cancel(STAFF, "ill", NOW)
    assert cancelled.data.going_ids == ["a", "b"] and cancelled.data.waitlisted_ids == ["c"]
    with pytest.raises(GatheringClosedError):
        g.rsvp("d", "going", NOW)


def test_bad_schedules() -> None:
    with pytest.raises(InvalidCommandError) as e:
        make(ends_at=(NOW + timedelta(days=1)).isoformat())
    assert e.value.field == "ends_at"
    with pytest.raises(InvalidCommandError):
        make(recurrence="FREQ=HOURLY;COUNT=3")
    with pytest.raises(NotAllowedError):
        cmd = ScheduleGathering.model_validate(
            {
                "title": "t",
                "description": "d",
                "starts_at": (NOW + timedelta(days=2)).isoformat(),
                "ends_at": (NOW + timedelta(days=2, hours=1)).isoformat(),
                "timezone": "UTC",
            }
        )
        Gathering.schedule(cmd, Principal("m"), NOW, "g2", [3600])


def test_reminders_once_per_member_going_and_offset() -> None:
    g = make(capacity=5)
    for u in "abc":
        g.rsvp(u, "going", NOW)
    g.rsvp("c", "not_going", NOW)
    start = g.starts_at
    assert g.next_reminder_at == start - timedelta(days=1)
    assert g.due_reminders(start - timedelta(days=1, seconds=1), "r1") == []
    first = g.due_reminders(start - timedelta(days=1), "r1")
    assert sorted(e.data.user_id for e in first) == ["a", "b"]
    assert {e.data.offset_seconds for e in first} == {86400}
    assert g.due_reminders(start - timedelta(hours=2), "r2") == []  # claimed already
    second = g.due_reminders(start - timedelta(minutes=59), "r2")
    assert {e.data.offset_seconds for e in second} == {3600} and len(second) == 2
    assert g.next_reminder_at is None


def test_check_in_only_in_the_window() -> None:
    g = make()
    g.rsvp("a", "going", NOW)
    with pytest.raises(GatheringClosedError):
        g.check_in("a", NOW, 900)
    at = g.starts_at - timedelta(minutes=10)
    [e] = g.check_in("a", at, 900)
    assert e.data.was_going
    assert g.check_in("a", at, 900) == []
