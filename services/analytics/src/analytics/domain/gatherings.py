"""Gatherings metrics (issue 23 item 8): gatherings.events → changes, and the window's
figures. Pure.

Documents (beside the day counters ``days.c.g_*``):

* ``gatherings/<gathering>``: ``day`` and ``starts_at`` (the latest schedule), ``host``,
  ``cancelled``; counters ``going`` (members holding a seat: +1 on every RSVP move into
  ``going``, -1 on every move out of it), ``checkins``, ``checkins_going`` (check-ins of
  members who held a seat). Every event of a gathering is on one partition (its key), in
  order, and the document's guard applies each exactly once, so the counters are exact.
* ``attendees/<gathering>|<user>``: one per check-in: ``user``, ``day`` (for the activity
  of attendees before and after).

Definitions, over a window of UTC days:

* **gatherings held**: gatherings starting in the window (by their latest schedule), not
  cancelled, started by the end of the window. **scheduled** / **cancelled**: those events
  in the window.
* **RSVPs**: RSVP changes to ``going``, ``waitlisted`` or ``interested`` in the window
  (a promotion from the waitlist is not one: it is counted as a promotion).
* **show-up rate**: check-ins of members who held a seat ÷ members holding a seat, over
  the gatherings held in the window.
* **waitlist promotions**: ``SeatOffered`` (emitted exactly once per promotion).
* **guest questions** asked and answered, **giveaway entries**, **draws**.
* **attendee activity**: for every check-in in the window whose 7 days after have passed
  by now (they may reach past the window's end: that is the point), the days its member
  was active (any event) in the 7 days before the check-in day and in the 7 days after;
  reported as the mean days per attendance before and after and their ratio (the lift:
  > 1 means gatherings are followed by more activity).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from schemas import gatherings as g

from .changes import ATTENDEES, GATHERINGS, Ops, day_of

#: the days before and after a check-in compared for attendee activity
ACTIVITY_DAYS = 7
#: per-day counters (``days.c.<name>``) → the name the API gives their window total
COUNTERS = {
    "g_scheduled": "scheduled",
    "g_cancelled": "cancelled",
    "g_rsvps": "rsvps",
    "g_promotions": "waitlist_promotions",
    "g_checkins": "check_ins",
    "g_questions": "guest_questions",
    "g_answered": "guest_questions_answered",
    "g_entries": "giveaway_entries",
    "g_draws": "giveaway_draws",
}
#: RSVP statuses that count as an RSVP made
RSVP_MADE = frozenset({"going", "waitlisted", "interested"})


class GatheringChanges:
    """The changes of gatherings events (a mixin of :class:`analytics.domain.events.Changes`,
    which provides ``_ops``: one change of the current event to one document)."""

    def _ops(self, coll: str, doc_id: str) -> Ops:  # pragma: no cover - provided by Changes
        raise NotImplementedError

    def _g(self, d: Any) -> Ops:
        return self._ops(GATHERINGS, d.gathering_id)

    def _on_GatheringScheduled(
        self, d: g.GatheringScheduled, t: Any, day: str, dayops: Ops, _: Any
    ) -> None:
        dayops.inc["c.g_scheduled"] = 1
        self._g(d).st.update(day=day_of(d.starts_at), starts_at=d.starts_at, host=d.host_id)

    def _on_GatheringUpdated(
        self, d: g.GatheringUpdated, t: Any, day: str, dayops: Ops, _: Any
    ) -> None:
        self._g(d).st.update(day=day_of(d.starts_at), starts_at=d.starts_at)

    def _on_GatheringCancelled(
        self, d: g.GatheringCancelled, t: Any, day: str, dayops: Ops, _: Any
    ) -> None:
        dayops.inc["c.g_cancelled"] = 1
        self._g(d).st["cancelled"] = True

    def _on_RsvpChanged(self, d: g.RsvpChanged, t: Any, day: str, dayops: Ops, _: Any) -> None:
        if d.to_status in RSVP_MADE and d.to_status != d.from_status and not d.promoted:
            dayops.inc["c.g_rsvps"] = 1  # a promotion is counted as such, not as an RSVP
        seat = (d.to_status == "going") - (d.from_status == "going")
        if seat:
            self._g(d).inc["going"] = seat

    def _on_SeatOffered(self, d: g.SeatOffered, t: Any, day: str, dayops: Ops, _: Any) -> None:
        dayops.inc["c.g_promotions"] = 1

    def _on_MemberCheckedIn(
        self, d: g.MemberCheckedIn, t: Any, day: str, dayops: Ops, _: Any
    ) -> None:
        dayops.inc["c.g_checkins"] = 1
        ops = self._g(d)
        ops.inc["checkins"] = 1
        if d.was_going:
            ops.inc["checkins_going"] = 1
        self._ops(ATTENDEES, f"{d.gathering_id}|{d.user_id}").st.update(
            gathering=d.gathering_id, user=d.user_id, day=day
        )

    def _on_GuestQuestionAsked(
        self, d: g.GuestQuestionAsked, t: Any, day: str, dayops: Ops, _: Any
    ) -> None:
        dayops.inc["c.g_questions"] = 1

    def _on_GuestQuestionAnswered(
        self, d: g.GuestQuestionAnswered, t: Any, day: str, dayops: Ops, _: Any
    ) -> None:
        dayops.inc["c.g_answered"] = 1

    def _on_GiveawayEntered(
        self, d: g.GiveawayEntered, t: Any, day: str, dayops: Ops, _: Any
    ) -> None:
        dayops.inc["c.g_entries"] = 1

    def _on_GiveawayDrawn(self, d: g.GiveawayDrawn, t: Any, day: str, dayops: Ops, _: Any) -> None:
        dayops.inc["c.g_draws"] = 1


# ----------------------------------------------------------------------------- metrics


@dataclass(frozen=True)
class Span:
    """A window of UTC days, the instant its outcomes are judged at, and now."""

    first: str
    last: str
    closes: datetime
    now: datetime


def counters(days: Iterable[dict[str, Any]]) -> dict[str, int]:
    """The window totals of the per-day gatherings counters."""
    out = dict.fromkeys(COUNTERS.values(), 0)
    for d in days:
        c = d.get("c", {})
        for key, name in COUNTERS.items():
            out[name] += int(c.get(key, 0))
    return out


def held(gatherings: Iterable[dict[str, Any]], closes: datetime) -> list[dict[str, Any]]:
    """Gatherings (of the window's days) held: not cancelled, started by ``closes``."""
    return [
        x
        for x in gatherings
        if not x.get("cancelled") and "starts_at" in x and _aware(x["starts_at"]) <= closes
    ]


def activity(
    attendances: Iterable[dict[str, Any]],
    active: dict[str, set[str]],
    now: datetime,
) -> dict[str, Any]:
    """Attendee activity before and after (see the module docstring). ``active`` maps a
    user to the days (ISO) they were active in, around the window."""
    compared = before = after = 0
    for a in attendances:
        day = date.fromisoformat(a["day"])
        after_ends = datetime.combine(day + timedelta(days=ACTIVITY_DAYS + 1), time(), tzinfo=UTC)
        if after_ends > now:
            continue  # its 7 days after are not over yet
        days = active.get(a["user"], set())
        compared += 1
        for n in range(1, ACTIVITY_DAYS + 1):
            before += (day - timedelta(days=n)).isoformat() in days
            after += (day + timedelta(days=n)).isoformat() in days
    return {
        "attendances_compared": compared,
        "attendee_active_days_before": round(before / compared, 2) if compared else None,
        "attendee_active_days_after": round(after / compared, 2) if compared else None,
        "attendee_activity_lift": round(after / before, 3) if before else None,
    }


def summary(
    span: Span,
    days: list[dict[str, Any]],
    gatherings: list[dict[str, Any]],
    attendances: list[dict[str, Any]],
    active: dict[str, set[str]],
) -> dict[str, Any]:
    """Every gatherings figure of the window, and one point per day of its counters."""
    done = held(gatherings, span.closes)
    going = sum(max(0, int(x.get("going", 0))) for x in done)
    shown = sum(int(x.get("checkins_going", 0)) for x in done)
    by_day = {d["_id"]: d for d in days}
    points = []
    for day in _days(span.first, span.last):
        c = counters([by_day[day]] if day in by_day else [])
        points.append({"day": day, **c})
    return {
        "from": span.first,
        "to": span.last,
        **counters(days),
        "held": len(done),
        "going": going,
        "checked_in_going": shown,
        "show_up_rate": round(shown / going, 4) if going else None,
        **activity(attendances, active, span.now),
        "points": points,
    }


def active_days(day_users: Iterable[dict[str, Any]]) -> dict[str, set[str]]:
    """user → the days they acted (``day_users`` documents with ``n``)."""
    out: dict[str, set[str]] = defaultdict(set)
    for u in day_users:
        if u.get("n", 0) > 0:
            out[u["user"]].add(u["day"])
    return out


def _days(first: str, last: str) -> list[str]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [(start + timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)
