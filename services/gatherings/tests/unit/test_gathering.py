"""The Gathering aggregate: seats, waitlist in arrival order, promotion exactly once,
reminders, check-in window, bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from communitykit.auth import Principal
from communitykit.problems import ProblemError
from gatherings.domain.commands import ScheduleGathering, UpdateGathering
from gatherings.domain.errors import GatheringClosedError, InvalidCommandError, NotAllowedError
from gatherings.domain.gathering import Gathering, Member, member_key, occ_id, record_key

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


def occ(g: Gathering) -> str:
    return occ_id(g.starts_at)


def settle(g: Gathering, *keep: str) -> None:
    """What the projection and the next load's ``prepare`` do: the records take the pending
    changes (except those of the members in ``keep``, still unprojected), and every
    occurrence's waitlisted records are handed over as its head."""
    for k, m in list(g.pending.items()):
        if m.user_id not in keep:
            g.records[m.key] = Member(**vars(m))
            del g.pending[k]
    g.heads = {}
    for r in sorted(g.records.values(), key=lambda m: m.ticket):
        if r.status == "waitlisted":
            g.heads.setdefault(r.occ, []).append(r)


def status(g: Gathering, user: str) -> str:
    return g.state(user, occ(g)).status


def position(g: Gathering, user: str) -> int | None:
    m = g.state(user, occ(g))
    if m.status != "waitlisted":
        return None
    return 1 + sum(
        1 for o in g.known() if o.occ == m.occ and o.status == "waitlisted" and o.ticket < m.ticket
    )


def test_going_until_full_then_waitlisted_in_arrival_order() -> None:
    g = make(capacity=2)
    events = [e for u in ["a", "b", "c", "d"] for e in g.rsvp(u, "going", NOW)]
    assert [e.data.position for e in events] == [None, None, 1, 2]
    assert [e.data.ticket for e in events] == [1, 2, 3, 4]
    assert g.seats_of(occ(g)).seats_taken == 2 and g.seats_of(occ(g)).waitlisted == 2
    assert [status(g, u) for u in "abcd"] == ["going", "going", "waitlisted", "waitlisted"]
    assert position(g, "c") == 1 and position(g, "d") == 2
    assert g.rsvp("c", "going", NOW) == []  # a repeat changes nothing
    settle(g)
    assert g.pending == {}  # the hot document forgets what the records hold
    assert g.rsvp("c", "going", NOW) == []  # ... and still knows it from the record
    assert [status(g, u) for u in "abcd"] == ["going", "going", "waitlisted", "waitlisted"]


def test_the_document_holds_only_unprojected_changes() -> None:
    g = make(capacity=1)
    g.rsvp("a", "going", NOW)
    g.rsvp("a", "interested", NOW)
    g.rsvp("a", "going", NOW)
    # one entry per member: the newest change supersedes the older ones
    assert list(g.pending) == [f"{occ(g)}_{member_key('a')}_3"]
    assert g.pending[f"{occ(g)}_{member_key('a')}_3"].status == "going"


@pytest.mark.parametrize("projected", [True, False])
def test_a_freed_seat_promotes_the_first_waitlisted_once(projected: bool) -> None:
    g = make(capacity=1)
    g.rsvp("a", "going", NOW)
    g.rsvp("b", "going", NOW)
    g.rsvp("c", "going", NOW)
    if projected:
        settle(g)  # the head now comes from the records
    events = g.rsvp("a", "not_going", NOW)
    assert names(events) == ["RsvpChanged", "RsvpChanged", "SeatOffered"]
    assert events[1].data.user_id == "b" and events[1].data.promoted
    assert events[2].data.freed_by == "a"
    assert status(g, "b") == "going" and position(g, "c") == 1
    assert g.rsvp("a", "not_going", NOW) == []  # no second promotion
    settle(g)
    assert g.rsvp("a", "not_going", NOW) == []
    assert g.seats_of(occ(g)).seats_taken == 1 and status(g, "c") == "waitlisted"


def test_a_pending_change_overrides_a_stale_record_of_the_head() -> None:
    g = make(capacity=1)
    for u in "abcd":
        g.rsvp(u, "going", NOW)
    settle(g)
    g.rsvp("b", "interested", NOW)  # b left the waitlist; its record still says waitlisted
    settle(g, "b")
    assert g.records[record_key(occ(g), "b")].status == "waitlisted"
    events = g.rsvp("a", "not_going", NOW)
    assert [e.data.user_id for e in events if "SeatOffered" in e.type] == ["c"]  # not b
    assert position(g, "d") == 1


def test_leaving_the_waitlist_moves_the_others_up() -> None:
    g = make(capacity=1)
    for u in "abcd":
        g.rsvp(u, "going", NOW)
    g.rsvp("c", "interested", NOW)
    assert position(g, "b") == 1 and position(g, "d") == 2
    assert g.seats_of(occ(g)).waitlisted == 2


def test_raising_the_capacity_promotes_and_lowering_below_taken_is_refused() -> None:
    g = make(capacity=1)
    for u in "abc":
        g.rsvp(u, "going", NOW)
    settle(g)
    events = g.update(UpdateGathering(capacity=2), STAFF, NOW)
    assert names(events) == ["GatheringUpdated", "RsvpChanged", "SeatOffered"]
    assert events[2].data.freed_by is None and events[1].data.user_id == "b"
    with pytest.raises(ProblemError) as e:
        g.update(UpdateGathering(capacity=1), STAFF, NOW)
    assert e.value.status == 409 and e.value.field == "capacity"


def test_rsvp_refused_when_cancelled_or_closed() -> None:
    g = make()
    with pytest.raises(GatheringClosedError):
        g.rsvp("a", "going", NOW + timedelta(days=3))
    g.rsvp("a", "going", NOW)
    g.rsvp("b", "going", NOW)
    settle(g)
    g.rsvp("c", "going", NOW)
    [cancelled] = g.cancel(STAFF, "ill", NOW)
    assert cancelled.data.going_ids == ["a", "b"] and cancelled.data.waitlisted_ids == ["c"]
    with pytest.raises(GatheringClosedError):
        g.rsvp("d", "going", NOW)


def test_rsvps_per_occurrence_of_a_series() -> None:
    g = make(capacity=1, recurrence="FREQ=WEEKLY;COUNT=3")
    first, second, third = g.occurrences()
    [e] = g.rsvp("a", "going", NOW, second)
    assert e.data.occurrence == second and e.data.to_status == "going"
    # the default is the first occurrence still open; each occurrence has its own seats
    [e] = g.rsvp("b", "going", NOW)
    assert e.data.occurrence == first and e.data.to_status == "going"
    [e] = g.rsvp("b", "going", NOW, second)
    assert e.data.to_status == "waitlisted" and e.data.position == 1
    assert g.state("a", occ_id(first)).status == "none"
    assert g.seats_of(occ_id(second)).seats_taken == 1
    assert g.seats_of(occ_id(third)).seats_taken == 0
    with pytest.raises(InvalidCommandError) as err:
        g.rsvp("c", "going", NOW, second + timedelta(hours=1))
    assert err.value.field == "occurrence"
    # after the first occurrence started, the default RSVP is for the second
    [e] = g.rsvp("c", "going", first + timedelta(minutes=5))
    assert e.data.occurrence == second and e.data.to_status == "waitlisted"
    with pytest.raises(GatheringClosedError):
        g.rsvp("c", "going", first + timedelta(minutes=5), first)


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
    settle(g)
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
    assert e.data.was_going and e.data.occurrence == g.starts_at and e.data.sequence == 2
    assert g.check_in("a", at, 900) == []
    settle(g)
    assert g.check_in("a", at, 900) == []
