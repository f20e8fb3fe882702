"""The ``Gathering`` aggregate: one document per gathering holds its schedule, the seats, the
ordered waitlist and each member's RSVP entry, so that taking a seat, joining the waitlist and
promoting the first waitlisted member on a cancellation are decided together in ONE guarded
update (a promotion happens exactly once: it is part of the write that freed the seat).

Every command checks its rules first, then mutates, then returns the events it produced.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from communitykit.auth import Principal
from schemas import Envelope, new_event
from schemas.gatherings import (
    GatheringCancelled,
    GatheringReminderDue,
    GatheringScheduled,
    GatheringUpdated,
    MemberCheckedIn,
    RsvpChanged,
    SeatOffered,
)

from .commands import ScheduleGathering, UpdateGathering, as_utc
from .errors import (
    ConflictError,
    GatheringClosedError,
    InvalidCommandError,
    NotAllowedError,
)
from .recurrence import normalise, occurrences

Event = Envelope[Any]
Doc = dict[str, Any]

#: RSVP statuses that hold a place (a seat or a waitlist place)
HOLDING = ("going", "waitlisted")


def member_key(user_id: str) -> str:
    """A user id as a document key: user ids may hold ``.`` or ``$``, keys may not."""
    return hashlib.sha256(user_id.encode()).hexdigest()[:32]


@dataclass
class Member:
    user_id: str
    status: str = "none"
    #: arrival number of the latest request for a seat (the waitlist's order)
    ticket: int = 0
    #: this member's change number (RsvpChanged.sequence)
    sequence: int = 0
    checked_in_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass
class Gathering:
    gathering_id: str
    host_id: str
    title: str
    description: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    created_at: datetime
    group_id: str | None = None
    capacity: int | None = None
    rsvp_closes_at: datetime | None = None
    recurrence: str | None = None
    guests: list[Doc] = field(default_factory=list)
    join_url: str | None = None
    status: str = "scheduled"
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    recap: Doc | None = None
    seats_taken: int = 0
    #: member keys in waitlist order (first = next to get a seat)
    waitlist: list[str] = field(default_factory=list)
    next_ticket: int = 1
    members: dict[str, Member] = field(default_factory=dict)
    reminder_offsets: list[int] = field(default_factory=list)
    #: reminders due at or after this instant are sent (set when (re)scheduled)
    reminders_from: datetime | None = None
    reminders_sent: dict[str, Doc] = field(default_factory=dict)
    next_reminder_at: datetime | None = None
    last_ends_at: datetime | None = None

    # ------------------------------------------------------------------ creation
    @classmethod
    def schedule(
        cls,
        cmd: ScheduleGathering,
        host: Principal,
        now: datetime,
        gathering_id: str,
        reminder_offsets: list[int],
    ) -> tuple[Gathering, list[Event]]:
        """POST /gatherings → GatheringScheduled."""
        if cmd.group_id is None and not host.has("staff"):
            raise NotAllowedError("only staff schedule gatherings outside a group")
        g = cls(
            gathering_id=gathering_id,
            host_id=host.user_id,
            title=cmd.title,
            description=cmd.description,
            starts_at=as_utc(cmd.starts_at),
            ends_at=as_utc(cmd.ends_at),
            timezone=cmd.timezone,
            created_at=now,
            group_id=cmd.group_id,
            capacity=cmd.capacity,
            rsvp_closes_at=as_utc(cmd.rsvp_closes_at) if cmd.rsvp_closes_at else None,
            recurrence=normalise(cmd.recurrence) if cmd.recurrence else None,
            guests=[gu.model_dump() for gu in cmd.guests],
            join_url=str(cmd.join_url) if cmd.join_url else None,
            reminder_offsets=sorted(set(reminder_offsets), reverse=True),
        )
        g._check_times(now, new=True)
        g._reschedule(now)
        return g, [
            new_event(
                GatheringScheduled(
                    gathering_id=g.gathering_id,
                    host_id=g.host_id,
                    title=g.title,
                    starts_at=g.starts_at,
                    ends_at=g.ends_at,
                    timezone=g.timezone,
                    group_id=g.group_id,
                    capacity=g.capacity,
                    recurrence=g.recurrence,
                    guest_ids=g.guest_ids,
                ),
                subject=g.gathering_id,
                actor_id=host.user_id,
                time=now,
            )
        ]

    def _check_times(self, now: datetime, *, new: bool) -> None:
        if self.ends_at <= self.starts_at:
            raise InvalidCommandError("ends_at must be after starts_at", field="ends_at")
        if self.ends_at - self.starts_at > timedelta(days=7):
            raise InvalidCommandError("a gathering lasts at most 7 days", field="ends_at")
        if new and self.starts_at <= now:
            raise InvalidCommandError("starts_at must be in the future", field="starts_at")
        if self.rsvp_closes_at is not None and self.rsvp_closes_at > self.starts_at:
            raise InvalidCommandError(
                "rsvp_closes_at must be at or before starts_at", field="rsvp_closes_at"
            )

    def _reschedule(self, now: datetime) -> None:
        starts = self.occurrences()
        self.last_ends_at = starts[-1] + (self.ends_at - self.starts_at)
        self.reminders_from = now
        self.next_reminder_at = self._next_reminder()

    # ------------------------------------------------------------------ reads
    @property
    def guest_ids(self) -> list[str]:
        return [str(g["user_id"]) for g in self.guests]

    def occurrences(self) -> list[datetime]:
        return occurrences(self.starts_at, self.timezone, self.recurrence)

    def member(self, user_id: str) -> Member | None:
        return self.members.get(member_key(user_id))

    def position(self, user_id: str) -> int | None:
        """Place in the waitlist (from 1) while waitlisted."""
        key = member_key(user_id)
        return self.waitlist.index(key) + 1 if key in self.waitlist else None

    def is_guest(self, user_id: str) -> bool:
        return user_id in self.guest_ids

    def may_manage(self, user: Principal) -> bool:
        return user.user_id == self.host_id or user.has("staff")

    def phase(self, now: datetime) -> str:
        """``cancelled``, ``upcoming``, ``live`` or ``past``."""
        if self.status == "cancelled":
            return "cancelled"
        if now < self.starts_at:
            return "upcoming"
        return "live" if self.last_ends_at is None or now < self.last_ends_at else "past"

    # ------------------------------------------------------------------ commands
    def _require_manager(self, user: Principal, what: str) -> None:
        if not self.may_manage(user):
            raise NotAllowedError(f"only the host or staff may {what}")

    def _require_scheduled(self) -> None:
        if self.status == "cancelled":
            raise GatheringClosedError(f"gathering {self.gathering_id!r} is cancelled")

    def update(self, cmd: UpdateGathering, by: Principal, now: datetime) -> list[Event]:
        """PATCH /gatherings/{id} (host, staff) → GatheringUpdated (+ promotions when the
        capacity grows)."""
        self._require_manager(by, "edit a gathering")
        self._require_scheduled()
        given = cmd.model_fields_set
        if not given:
            raise InvalidCommandError("nothing to change", field="body")
        changed: list[str] = []
        new: Doc = {}
        for name in sorted(given):
            value = getattr(cmd, name)
            if name in ("starts_at", "ends_at", "rsvp_closes_at") and value is not None:
                value = as_utc(value)
            if name == "guests":
                value = [g.model_dump() for g in (value or [])]
            if name == "join_url" and value is not None:
                value = str(value)
            if (
                name in ("title", "description", "starts_at", "ends_at", "timezone")
                and value is None
            ):
                raise InvalidCommandError(f"{name} cannot be null", field=name)
            if getattr(self, name) != value:
                new[name] = value
                changed.append(name)
        if "capacity" in new and new["capacity"] is not None and new["capacity"] < self.seats_taken:
            raise ConflictError(
                f"capacity {new['capacity']} is below the {self.seats_taken} seats already taken",
                field="capacity",
            )
        if {"starts_at", "ends_at"} & set(new) and self.phase(now) != "upcoming":
            raise GatheringClosedError("a gathering that has started cannot be moved")
        if not changed:
            return []
        for name, value in new.items():
            setattr(self, name, value)
        self._check_times(now, new="starts_at" in new)
        if {"starts_at", "ends_at", "timezone"} & set(new):
            self._reschedule(now)
        events: list[Event] = [
            new_event(
                GatheringUpdated(
                    gathering_id=self.gathering_id,
                    updated_by=by.user_id,
                    fields=changed,
                    title=self.title,
                    starts_at=self.starts_at,
                    ends_at=self.ends_at,
                    capacity=self.capacity,
                ),
                subject=self.gathering_id,
                actor_id=by.user_id,
                time=now,
            )
        ]
        if "capacity" in new:
            events += self._fill_seats(None, by.user_id, now)
        return events

    def cancel(self, by: Principal, reason: str | None, now: datetime) -> list[Event]:
        """POST /gatherings/{id}/cancel (host, staff) → GatheringCancelled naming everyone
        who held a seat or a waitlist place."""
        self._require_manager(by, "cancel a gathering")
        if self.status == "cancelled":
            return []
        if self.phase(now) == "past":
            raise GatheringClosedError("the gathering is over")
        going = [m.user_id for m in self.members.values() if m.status == "going"]
        waiting = [self.members[k].user_id for k in self.waitlist]
        self.status, self.cancelled_at, self.cancel_reason = "cancelled", now, reason
        self.next_reminder_at = None
        return [
            new_event(
                GatheringCancelled(
                    gathering_id=self.gathering_id,
                    cancelled_by=by.user_id,
                    reason=reason,
                    going_ids=sorted(going),
                    waitlisted_ids=waiting,
                ),
                subject=self.gathering_id,
                actor_id=by.user_id,
                time=now,
            )
        ]

    def rsvp(self, user_id: str, wanted: str, now: datetime) -> list[Event]:
        """PUT /gatherings/{id}/rsvp → RsvpChanged; ``going`` takes a seat or, when full, the
        next waitlist place (arrival order); leaving a seat promotes the first waitlisted
        member in the same write (RsvpChanged promoted + SeatOffered)."""
        self._require_scheduled()
        closes = self.rsvp_closes_at or self.starts_at
        if now >= closes:
            raise GatheringClosedError(f"RSVPs closed at {closes.isoformat()}")
        key = member_key(user_id)
        m = self.members.get(key) or Member(user_id=user_id)
        before = m.status
        if wanted == "going" and before in HOLDING:
            return []  # already holds a seat or a place: a repeat changes nothing
        if wanted == before:
            return []
        freed = before == "going"
        if freed:
            self.seats_taken -= 1
        elif before == "waitlisted":
            self.waitlist.remove(key)
        if wanted == "going":
            m.ticket, self.next_ticket = self.next_ticket, self.next_ticket + 1
            if self.capacity is None or self.seats_taken < self.capacity:
                m.status = "going"
                self.seats_taken += 1
            else:
                m.status = "waitlisted"
                self.waitlist.append(key)
        else:
            m.status = wanted
        m.sequence += 1
        m.updated_at = now
        self.members[key] = m
        events = [self._changed(m, before, now, actor=user_id)]
        if freed:
            events += self._fill_seats(user_id, user_id, now)
        return events

    def _changed(
        self, m: Member, before: str, now: datetime, *, actor: str, promoted: bool = False
    ) -> Event:
        return new_event(
            RsvpChanged(
                gathering_id=self.gathering_id,
                user_id=m.user_id,
                from_status=before,  # type: ignore[arg-type]
                to_status=m.status,  # type: ignore[arg-type]
                position=self.position(m.user_id),
                promoted=promoted,
                sequence=m.sequence,
            ),
            subject=self.gathering_id,
            actor_id=actor,
            time=now,
        )

    def _fill_seats(self, freed_by: str | None, actor: str, now: datetime) -> list[Event]:
        """Give free seats to the first waitlisted members, in waitlist order."""
        events: list[Event] = []
        while self.waitlist and (self.capacity is None or self.seats_taken < self.capacity):
            key = self.waitlist.pop(0)
            m = self.members[key]
            m.status, m.sequence, m.updated_at = "going", m.sequence + 1, now
            self.seats_taken += 1
            events.append(self._changed(m, "waitlisted", now, actor=actor, promoted=True))
            events.append(
                new_event(
                    SeatOffered(
                        gathering_id=self.gathering_id, user_id=m.user_id, freed_by=freed_by
                    ),
                    subject=self.gathering_id,
                    actor_id=actor,
                    time=now,
                )
            )
        return events

    def check_in(self, user_id: str, now: datetime, opens_seconds: int) -> list[Event]:
        """POST /gatherings/{id}/check-in during an occurrence's window → MemberCheckedIn
        (once per member; a repeat changes nothing)."""
        self._require_scheduled()
        length = self.ends_at - self.starts_at
        opens = timedelta(seconds=opens_seconds)
        if not any(s - opens <= now <= s + length for s in self.occurrences()):
            raise GatheringClosedError(
                "check-in is open from "
                f"{opens_seconds // 60} minutes before the start until the end"
            )
        key = member_key(user_id)
        m = self.members.get(key) or Member(user_id=user_id)
        if m.checked_in_at is not None:
            return []
        m.checked_in_at, m.updated_at = now, now
        self.members[key] = m
        return [
            new_event(
                MemberCheckedIn(
                    gathering_id=self.gathering_id,
                    user_id=user_id,
                    host_id=self.host_id,
                    was_going=m.status == "going",
                ),
                subject=self.gathering_id,
                actor_id=user_id,
                time=now,
            )
        ]

    def post_recap(
        self, by: Principal, body: str, takeaways: list[str], now: datetime
    ) -> list[Event]:
        """PUT /gatherings/{id}/recap (host, staff) after the end → GatheringUpdated
        (fields ["recap"])."""
        self._require_manager(by, "post the recap")
        self._require_scheduled()
        if now < self.ends_at:
            raise GatheringClosedError("the recap is posted after the gathering ends")
        recap = {"body": body, "takeaways": takeaways, "by": by.user_id, "at": now}
        if self.recap and {k: self.recap.get(k) for k in ("body", "takeaways")} == {
            "body": body,
            "takeaways": takeaways,
        }:
            return []
        self.recap = recap
        return [
            new_event(
                GatheringUpdated(
                    gathering_id=self.gathering_id,
                    updated_by=by.user_id,
                    fields=["recap"],
                    title=self.title,
                    starts_at=self.starts_at,
                    ends_at=self.ends_at,
                    capacity=self.capacity,
                ),
                subject=self.gathering_id,
                actor_id=by.user_id,
                time=now,
            )
        ]

    # ------------------------------------------------------------------ reminders
    def _reminders(self) -> list[tuple[datetime, datetime, int, str]]:
        """(due, occurrence start, offset, key) of every reminder wanted, unsent."""
        out = []
        for start in self.occurrences():
            for offset in self.reminder_offsets:
                due = start - timedelta(seconds=offset)
                key = f"{int(start.timestamp())}_{offset}"
                if key in self.reminders_sent:
                    continue
                if self.reminders_from is not None and due < self.reminders_from:
                    continue  # already past when the gathering was (re)scheduled
                out.append((due, start, offset, key))
        return sorted(out)

    def _next_reminder(self) -> datetime | None:
        pending = self._reminders()
        return pending[0][0] if pending and self.status == "scheduled" else None

    def due_reminders(self, now: datetime, by: str) -> list[Event]:
        """The sweeper's claim: every reminder due now → one GatheringReminderDue per member
        going, and the reminder is marked sent in the same write (exactly once: a replica
        that lost the race re-runs this on the new state and finds nothing due)."""
        if self.status != "scheduled":
            self.next_reminder_at = None
            return []
        events: list[Event] = []
        going = sorted(m.user_id for m in self.members.values() if m.status == "going")
        for due, start, offset, key in self._reminders():
            if due > now:
                break
            missed = now >= start  # the sweeper was down past the start: too late to remind
            self.reminders_sent[key] = {"at": now, "by": by, "missed": missed}
            if missed:
                continue
            for user_id in going:
                events.append(
                    new_event(
                        GatheringReminderDue(
                            gathering_id=self.gathering_id,
                            user_id=user_id,
                            title=self.title,
                            starts_at=start,
                            offset_seconds=offset,
                            join_url=self.join_url,
                        ),
                        subject=self.gathering_id,
                        time=now,
                    )
                )
        self.next_reminder_at = self._next_reminder()
        return events
