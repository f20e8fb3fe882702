"""The ``Gathering`` aggregate: the HOT document of a gathering holds only what must be decided
together — the schedule, the capacity and, per occurrence, the seats taken, the waitlist
length and the arrival counter — plus ``pending``: the member changes this document has
decided whose events are not yet projected into the members' own RSVP records.

Each member's RSVP to one occurrence lives in its own small document (``rsvps``, one per
(gathering, occurrence, member)), derived from our own RsvpChanged/MemberCheckedIn events by
the idempotent projection (projections/facts.py), which then removes the entry from
``pending`` (after the record holds it). So a member's state is its newest ``pending``
entry, else its record: every change of a record comes from an event that this document
recorded together with a ``pending`` entry in the same guarded update, and that entry goes
only once the record holds it. A command therefore sees the truth when the records it reads
(``records``, ``heads``: handed over by ``prepare`` right after the load) are read after the
document; its save is guarded by the version it loaded, so a change of any member in between
makes it re-run. Taking a seat, joining the waitlist and promoting the first waitlisted
member (lowest ticket) are still decided in ONE guarded update of this document: a promotion
happens exactly once.

Every command checks its rules first, then mutates, then returns the events it produced.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
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


def occ_id(start: datetime) -> str:
    """An occurrence's key: its start as Unix seconds (as the reminders' keys)."""
    return str(int(start.timestamp()))


def record_key(occ: str, user_id: str) -> str:
    """The key of one member's RSVP to one occurrence inside a gathering."""
    return f"{occ}_{member_key(user_id)}"


def record_id(gathering_id: str, occ: str, user_id: str) -> str:
    """The ``_id`` of the member's own RSVP record (collection ``rsvps``)."""
    return f"{gathering_id}|{occ}|{user_id}"


@dataclass
class Member:
    """One member's RSVP to one occurrence (a ``pending`` entry or the member's record)."""

    user_id: str
    occ: str
    status: str = "none"
    #: arrival number of the latest request for a seat (the waitlist's order)
    ticket: int = 0
    #: this record's change number (RsvpChanged.sequence, MemberCheckedIn.sequence)
    sequence: int = 0
    checked_in_at: datetime | None = None

    @property
    def key(self) -> str:
        return record_key(self.occ, self.user_id)


@dataclass
class Seats:
    """What one occurrence's RSVPs decide together."""

    seats_taken: int = 0
    waitlisted: int = 0
    next_ticket: int = 1


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
    #: occurrence key → its seats, waitlist length and arrival counter (occurrences RSVPed to)
    seats: dict[str, Seats] = field(default_factory=dict)
    #: "<record key>_<sequence>" → the member's state decided by this document and not yet
    #: projected into the member's record (the projection removes it once it is)
    pending: dict[str, Member] = field(default_factory=dict)
    reminder_offsets: list[int] = field(default_factory=list)
    #: reminders due at or after this instant are sent (set when (re)scheduled)
    reminders_from: datetime | None = None
    reminders_sent: dict[str, Doc] = field(default_factory=dict)
    next_reminder_at: datetime | None = None
    last_ends_at: datetime | None = None
    # ---- not stored: handed over by ``prepare`` after each load (adapters/records.py)
    #: record key → the member's record, for the members a command may read
    records: dict[str, Member] = field(default_factory=dict)
    #: occurrence key → the first waitlisted records by ticket (promotion candidates)
    heads: dict[str, list[Member]] = field(default_factory=dict)

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

    def rsvp_closes(self, start: datetime) -> datetime:
        """When RSVPs to the occurrence starting at ``start`` close: ``rsvp_closes_at`` is
        kept at the same distance before every occurrence of a series (default: its start)."""
        if self.rsvp_closes_at is None:
            return start
        return start - (self.starts_at - self.rsvp_closes_at)

    def occurrence(self, at: datetime | None, now: datetime) -> datetime:
        """The occurrence an RSVP is for: the one starting ``at`` (422 naming ``occurrence``
        when the series has none there), by default the first still open to RSVPs (else the
        last, which then refuses as closed)."""
        starts = self.occurrences()
        if at is not None:
            at = as_utc(at)
            if at not in starts:
                raise InvalidCommandError(
                    "no occurrence of this gathering starts then", field="occurrence"
                )
            return at
        return next((s for s in starts if now < self.rsvp_closes(s)), starts[-1])

    def current_occurrence(self, now: datetime) -> datetime:
        """The occurrence a reader sees by default: the first not over yet, else the last."""
        starts = self.occurrences()
        length = self.ends_at - self.starts_at
        return next((s for s in starts if now < s + length), starts[-1])

    def seats_of(self, occ: str) -> Seats:
        return self.seats.get(occ) or Seats()

    def _latest_pending(self) -> dict[str, Member]:
        out: dict[str, Member] = {}
        for m in self.pending.values():
            if m.key not in out or m.sequence > out[m.key].sequence:
                out[m.key] = m
        return out

    def state(self, user_id: str, occ: str) -> Member:
        """The member's RSVP to an occurrence: its newest pending entry, else its record."""
        key = record_key(occ, user_id)
        pending = [m for m in self.pending.values() if m.key == key]
        if pending:
            return max(pending, key=lambda m: m.sequence)
        r = self.records.get(key)
        return Member(**vars(r)) if r else Member(user_id=user_id, occ=occ)

    def known(self) -> list[Member]:
        """Every member state this command can see (records handed over + pending)."""
        latest = self._latest_pending()
        return [*latest.values(), *(r for k, r in self.records.items() if k not in latest)]

    def pending_count(self, occ: str) -> int:
        return sum(1 for m in self.pending.values() if m.occ == occ)

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
        taken = max((s.seats_taken for s in self.seats.values()), default=0)
        if "capacity" in new and new["capacity"] is not None and new["capacity"] < taken:
            raise ConflictError(
                f"capacity {new['capacity']} is below the {taken} seats already taken",
                field="capacity",
            )
        if {"starts_at", "ends_at"} & set(new) and self.phase(now) != "upcoming":
            raise GatheringClosedError("a gathering that has started cannot be moved")
        if {"starts_at", "timezone", "recurrence"} & set(new) and any(
            s.seats_taken or s.waitlisted for s in self.seats.values()
        ):
            # RSVPs are per occurrence (keyed by its start): moving the series would orphan them
            field = sorted({"starts_at", "timezone"} & set(new))[0]
            raise ConflictError(
                "a gathering with RSVPs cannot move its occurrences; cancel it and schedule "
                "a new one",
                field=field,
            )
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
            for occ in sorted(self.seats):
                events += self._fill_seats(occ, None, by.user_id, now)
        return events

    def cancel(self, by: Principal, reason: str | None, now: datetime) -> list[Event]:
        """POST /gatherings/{id}/cancel (host, staff) → GatheringCancelled naming everyone
        who held a seat or a waitlist place (in any occurrence; ``prepare`` hands over every
        holder's record)."""
        self._require_manager(by, "cancel a gathering")
        if self.status == "cancelled":
            return []
        if self.phase(now) == "past":
            raise GatheringClosedError("the gathering is over")
        known = self.known()
        going = {m.user_id for m in known if m.status == "going"}
        waiting: list[str] = []
        for m in sorted(
            (m for m in known if m.status == "waitlisted"), key=lambda m: (m.occ, m.ticket)
        ):
            if m.user_id not in going and m.user_id not in waiting:
                waiting.append(m.user_id)
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

    def _record(self, m: Member) -> None:
        """A member's new state: the next ``pending`` entry (older ones of the same record
        are superseded: its state is the newest)."""
        m.sequence += 1
        for k in [k for k, p in self.pending.items() if p.key == m.key]:
            del self.pending[k]
        self.pending[f"{m.key}_{m.sequence}"] = Member(**vars(m))

    def rsvp(
        self, user_id: str, wanted: str, now: datetime, at: datetime | None = None
    ) -> list[Event]:
        """PUT /gatherings/{id}/rsvp → RsvpChanged; ``going`` takes a seat of the occurrence
        or, when full, the next waitlist place (arrival order); leaving a seat promotes the
        first waitlisted member in the same write (RsvpChanged promoted + SeatOffered)."""
        self._require_scheduled()
        start = self.occurrence(at, now)
        closes = self.rsvp_closes(start)
        if now >= closes:
            raise GatheringClosedError(f"RSVPs closed at {closes.isoformat()}")
        occ = occ_id(start)
        seats = self.seats.setdefault(occ, Seats())
        m = self.state(user_id, occ)
        before = m.status
        if wanted == "going" and before in HOLDING:
            return []  # already holds a seat or a place: a repeat changes nothing
        if wanted == before:
            return []
        freed = before == "going"
        if freed:
            seats.seats_taken -= 1
        elif before == "waitlisted":
            seats.waitlisted -= 1
        position = None
        if wanted == "going":
            m.ticket, seats.next_ticket = seats.next_ticket, seats.next_ticket + 1
            if self.capacity is None or seats.seats_taken < self.capacity:
                m.status = "going"
                seats.seats_taken += 1
            else:
                # the newest ticket: last in the waitlist
                m.status = "waitlisted"
                seats.waitlisted += 1
                position = seats.waitlisted
        else:
            m.status = wanted
        self._record(m)
        events = [self._changed(m, before, start, now, actor=user_id, position=position)]
        if freed:
            events += self._fill_seats(occ, user_id, user_id, now)
        return events

    def _changed(
        self,
        m: Member,
        before: str,
        start: datetime,
        now: datetime,
        *,
        actor: str,
        position: int | None = None,
        promoted: bool = False,
    ) -> Event:
        return new_event(
            RsvpChanged(
                gathering_id=self.gathering_id,
                user_id=m.user_id,
                from_status=before,  # type: ignore[arg-type]
                to_status=m.status,  # type: ignore[arg-type]
                position=position,
                promoted=promoted,
                sequence=m.sequence,
                occurrence=start,
                ticket=m.ticket,
            ),
            subject=self.gathering_id,
            actor_id=actor,
            time=now,
        )

    def waitlist_head(self, occ: str) -> Member | None:
        """The first waitlisted member of an occurrence (lowest ticket): the records handed
        over by ``prepare`` (enough of them: as many as may be overridden, plus the
        promotions needed) overridden by the pending entries."""
        latest = self._latest_pending()
        candidates = [m for m in latest.values() if m.occ == occ and m.status == "waitlisted"]
        candidates += [
            r for r in self.heads.get(occ, []) if r.key not in latest and r.status == "waitlisted"
        ]
        return min(candidates, key=lambda m: m.ticket, default=None)

    def _fill_seats(self, occ: str, freed_by: str | None, actor: str, now: datetime) -> list[Event]:
        """Give free seats of an occurrence to its first waitlisted members, in ticket order."""
        events: list[Event] = []
        seats = self.seats_of(occ)
        start = datetime.fromtimestamp(int(occ), tz=UTC)
        while seats.waitlisted and (self.capacity is None or seats.seats_taken < self.capacity):
            head = self.waitlist_head(occ)
            if head is None:  # pragma: no cover - prepare hands over enough records
                raise RuntimeError(f"waitlist of {self.gathering_id} {occ} not loaded")
            m = Member(**vars(head))
            m.status = "going"
            seats.waitlisted -= 1
            seats.seats_taken += 1
            self._record(m)
            events.append(self._changed(m, "waitlisted", start, now, actor=actor, promoted=True))
            events.append(
                new_event(
                    SeatOffered(
                        gathering_id=self.gathering_id,
                        user_id=m.user_id,
                        freed_by=freed_by,
                        occurrence=start,
                    ),
                    subject=self.gathering_id,
                    actor_id=actor,
                    time=now,
                )
            )
        self.seats[occ] = seats
        return events

    def window(self, now: datetime, opens_seconds: int) -> datetime | None:
        """The occurrence whose check-in window (``opens_seconds`` before its start to its
        end) holds ``now``."""
        length = self.ends_at - self.starts_at
        opens = timedelta(seconds=opens_seconds)
        return next((s for s in self.occurrences() if s - opens <= now <= s + length), None)

    def check_in(self, user_id: str, now: datetime, opens_seconds: int) -> list[Event]:
        """POST /gatherings/{id}/check-in during an occurrence's window → MemberCheckedIn
        (once per member and occurrence; a repeat changes nothing)."""
        self._require_scheduled()
        start = self.window(now, opens_seconds)
        if start is None:
            raise GatheringClosedError(
                "check-in is open from "
                f"{opens_seconds // 60} minutes before the start until the end"
            )
        m = self.state(user_id, occ_id(start))
        if m.checked_in_at is not None:
            return []
        m.checked_in_at = now
        self._record(m)
        return [
            new_event(
                MemberCheckedIn(
                    gathering_id=self.gathering_id,
                    user_id=user_id,
                    host_id=self.host_id,
                    was_going=m.status == "going",
                    occurrence=start,
                    sequence=m.sequence,
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

    def due_occurrences(self, now: datetime) -> list[str]:
        """The occurrences with a reminder due now (whose going members ``prepare`` loads)."""
        return sorted({occ_id(start) for due, start, _, _ in self._reminders() if due <= now})

    def due_reminders(self, now: datetime, by: str) -> list[Event]:
        """The sweeper's claim: every reminder due now → one GatheringReminderDue per member
        going to that occurrence, and the reminder is marked sent in the same write (exactly
        once: a replica that lost the race re-runs this on the new state and finds nothing
        due)."""
        if self.status != "scheduled":
            self.next_reminder_at = None
            return []
        events: list[Event] = []
        known = self.known()
        for due, start, offset, key in self._reminders():
            if due > now:
                break
            missed = now >= start  # the sweeper was down past the start: too late to remind
            self.reminders_sent[key] = {"at": now, "by": by, "missed": missed}
            if missed:
                continue
            occ = occ_id(start)
            going = sorted(m.user_id for m in known if m.occ == occ and m.status == "going")
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
