"""Events of the gatherings service (topic ``gatherings.events``, key: gathering id), version 1.

A gathering is an online community event; members RSVP (with a waitlist), ask the special
guest questions, check in, and enter giveaways whose draws anyone can verify
(``GiveawayOpened.seed_commitment`` → ``GiveawayClosed.entrants_hash`` → ``GiveawayDrawn``).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from .envelope import EventData, UtcDatetime, register

#: what a member's RSVP can be (``waitlisted``: asked for a seat when the gathering was full)
RsvpStatus = Literal["none", "going", "waitlisted", "interested", "not_going"]


class GatheringsEvent(EventData):
    producer: ClassVar[str] = "gatherings"


@register
class GatheringScheduled(GatheringsEvent):
    event_name: ClassVar[str] = "GatheringScheduled"
    gathering_id: str
    host_id: str
    title: str
    starts_at: UtcDatetime
    ends_at: UtcDatetime
    #: IANA time zone the gathering is planned in (recurrences keep its local time)
    timezone: str
    group_id: str | None = None
    #: seats; null = unlimited
    capacity: int | None = Field(default=None, ge=1)
    #: RFC 5545 RRULE (subset: DAILY/WEEKLY/MONTHLY with COUNT or UNTIL), or null
    recurrence: str | None = None
    guest_ids: list[str] = Field(default_factory=list)


@register
class GatheringUpdated(GatheringsEvent):
    event_name: ClassVar[str] = "GatheringUpdated"
    gathering_id: str
    updated_by: str
    #: the names of the fields that changed (``recap`` for a recap)
    fields: list[str]
    title: str
    starts_at: UtcDatetime
    ends_at: UtcDatetime
    capacity: int | None = Field(default=None, ge=1)


@register
class GatheringCancelled(GatheringsEvent):
    event_name: ClassVar[str] = "GatheringCancelled"
    gathering_id: str
    cancelled_by: str
    reason: str | None = None
    #: everyone who held a seat or a waitlist place: they learn it from this event
    going_ids: list[str] = Field(default_factory=list)
    waitlisted_ids: list[str] = Field(default_factory=list)


@register
class RsvpChanged(GatheringsEvent):
    event_name: ClassVar[str] = "RsvpChanged"
    gathering_id: str
    user_id: str
    from_status: RsvpStatus
    to_status: RsvpStatus
    #: place in the waitlist (from 1) while waitlisted, else null
    position: int | None = Field(default=None, ge=1)
    #: moved from the waitlist to a seat that another member freed
    promoted: bool = False
    #: this member's change number on this occurrence (1, 2, ...): the newest wins
    sequence: int = Field(default=1, ge=1)
    #: the occurrence (its start) the RSVP is for: one occurrence of a recurring series
    occurrence: UtcDatetime | None = None
    #: the member's arrival number for this occurrence (the waitlist's order; 0: none yet)
    ticket: int | None = Field(default=None, ge=0)


@register
class SeatOffered(GatheringsEvent):
    """A waitlisted member got a seat (emitted exactly once per promotion)."""

    event_name: ClassVar[str] = "SeatOffered"
    gathering_id: str
    user_id: str
    #: the member whose cancellation freed the seat (null: the capacity was raised)
    freed_by: str | None = None
    #: the occurrence (its start) whose seat it is
    occurrence: UtcDatetime | None = None


@register
class GatheringReminderDue(GatheringsEvent):
    """One per member going and reminder offset, for the notifications service."""

    event_name: ClassVar[str] = "GatheringReminderDue"
    gathering_id: str
    user_id: str
    title: str
    starts_at: UtcDatetime
    #: how long before the start this reminder is (86400, 3600 by default)
    offset_seconds: int = Field(ge=0)
    join_url: str | None = None


@register
class MemberCheckedIn(GatheringsEvent):
    event_name: ClassVar[str] = "MemberCheckedIn"
    gathering_id: str
    user_id: str
    host_id: str
    #: the member held a seat when checking in (show-up rate = checked in ÷ going)
    was_going: bool
    #: the occurrence (its start) checked in to
    occurrence: UtcDatetime | None = None
    #: the member's change number on this occurrence (shared with RsvpChanged.sequence)
    sequence: int | None = Field(default=None, ge=1)


@register
class GuestQuestionAsked(GatheringsEvent):
    event_name: ClassVar[str] = "GuestQuestionAsked"
    gathering_id: str
    question_id: str
    author_id: str
    body: str


@register
class GuestQuestionAnswered(GatheringsEvent):
    event_name: ClassVar[str] = "GuestQuestionAnswered"
    gathering_id: str
    question_id: str
    question_author_id: str
    answered_by: str
    #: answered by one of the gathering's guests (else by its host)
    by_guest: bool


@register
class GiveawayOpened(GatheringsEvent):
    event_name: ClassVar[str] = "GiveawayOpened"
    gathering_id: str
    giveaway_id: str
    opened_by: str
    prize: str
    winners: int = Field(ge=1)
    closes_at: UtcDatetime
    #: lowercase hex SHA-256 of the UTF-8 secret seed, revealed by GiveawayDrawn
    seed_commitment: str = Field(pattern=r"^[0-9a-f]{64}$")
    min_level: int = Field(default=0, ge=0, le=4)
    rsvp_required: bool = False
    checked_in_required: bool = False
    exclude_roles: list[str] = Field(default_factory=list)


@register
class GiveawayEntered(GatheringsEvent):
    event_name: ClassVar[str] = "GiveawayEntered"
    gathering_id: str
    giveaway_id: str
    user_id: str


@register
class GiveawayClosed(GatheringsEvent):
    """Entries closed; fixes the entrant list by its hash (a system event)."""

    event_name: ClassVar[str] = "GiveawayClosed"
    gathering_id: str
    giveaway_id: str
    #: lowercase hex SHA-256 of the sorted entrant ids joined by "\n" (UTF-8)
    entrants_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    entrant_count: int = Field(ge=0)


@register
class GiveawayDrawn(GatheringsEvent):
    """A recorded draw: round 1 at first, a re-draw over the remaining entrants after."""

    event_name: ClassVar[str] = "GiveawayDrawn"
    gathering_id: str
    giveaway_id: str
    round: int = Field(ge=1)
    drawn_by: str
    #: the secret seed, revealed (its SHA-256 is GiveawayOpened.seed_commitment)
    seed: str
    seed_commitment: str = Field(pattern=r"^[0-9a-f]{64}$")
    #: hash of the entrants this round drew from (round 1: GiveawayClosed.entrants_hash)
    entrants_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    winners: list[str]
    #: winners of earlier rounds this re-draw replaces (they did not claim)
    replaced: list[str] = Field(default_factory=list)
    algorithm: str
