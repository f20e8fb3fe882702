"""Commands (validated input) of the gatherings service. Unknown fields are rejected (nobody can
mass-assign ``seats_taken``, ``host_id`` or ``status``: 422 naming the field); strings are
data, never queries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, HttpUrl

from communitykit.text import NOT_BOOLEAN, STRIPPED, at_most, not_blank
from communitykit.timezones import TimeZoneName

Title = Annotated[str, not_blank(200), STRIPPED]
Text = Annotated[str, not_blank(20_000), STRIPPED]
Short = Annotated[str, not_blank(2000), STRIPPED]
Id = Annotated[str, not_blank(100), STRIPPED]
Bio = Annotated[str, at_most(2000), STRIPPED]
Takeaway = Annotated[str, not_blank(500), STRIPPED]


#: an IANA zone name; the document enumerates them (communitykit.timezones)
TimeZone = TimeZoneName


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Guest(Command):
    user_id: Id
    display_name: Annotated[str, not_blank(100), STRIPPED]
    bio: Bio = ""


class ScheduleGathering(Command):
    title: Title
    description: Text
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    timezone: TimeZone
    group_id: Id | None = None
    capacity: Annotated[int, Field(ge=1, le=100_000), NOT_BOOLEAN] | None = None
    rsvp_closes_at: AwareDatetime | None = None
    #: RFC 5545 RRULE subset (domain/recurrence.py)
    recurrence: Annotated[str, not_blank(200)] | None = None
    guests: Annotated[list[Guest], Field(max_length=20)] = []
    join_url: HttpUrl | None = None


class UpdateGathering(Command):
    """PATCH: only the fields given change (``null`` clears capacity, rsvp_closes_at,
    join_url)."""

    title: Title | None = None
    description: Text | None = None
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    timezone: TimeZone | None = None
    capacity: Annotated[int, Field(ge=1, le=100_000), NOT_BOOLEAN] | None = None
    rsvp_closes_at: AwareDatetime | None = None
    guests: Annotated[list[Guest], Field(max_length=20)] | None = None
    join_url: HttpUrl | None = None


class CancelGathering(Command):
    reason: Short | None = None


class Rsvp(Command):
    status: Literal["going", "interested", "not_going"]
    #: the occurrence of a recurring gathering (its start); default: the first still open
    occurrence: AwareDatetime | None = None


class PostRecap(Command):
    body: Text
    takeaways: Annotated[list[Takeaway], Field(max_length=50)] = []


class AskQuestion(Command):
    body: Annotated[str, not_blank(2000), STRIPPED]


class VoteQuestion(Command):
    """+1 votes for the question, 0 withdraws the caller's vote."""

    value: Annotated[Literal[1, 0], NOT_BOOLEAN]


class AnswerQuestion(Command):
    body: Text


Role = Literal["member", "moderator", "staff", "support"]
DEFAULT_EXCLUDED_ROLES: list[Role] = ["staff", "support"]


class Eligibility(Command):
    min_level: Annotated[int, Field(ge=0, le=4), NOT_BOOLEAN] = 0
    rsvp_required: bool = False
    checked_in_required: bool = False
    exclude_roles: list[Role] = Field(default_factory=lambda: list(DEFAULT_EXCLUDED_ROLES))


class OpenGiveaway(Command):
    prize: Annotated[str, not_blank(200), STRIPPED]
    winners: Annotated[int, Field(ge=1, le=100), NOT_BOOLEAN]
    closes_at: AwareDatetime
    eligibility: Eligibility = Field(default_factory=Eligibility)


class Redraw(Command):
    """Winners who did not claim their prize: a new recorded draw replaces them."""

    unclaimed: Annotated[list[Id], Field(min_length=1, max_length=100)]


def as_utc(t: datetime) -> datetime:
    return t.astimezone(UTC)
