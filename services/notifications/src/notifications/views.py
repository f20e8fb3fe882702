"""Request and response models of the HTTP API (the OpenAPI document states every one)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from communitykit.timezones import TimeZoneName

from .domain.classes import UNSUBSCRIBABLE
from .domain.follows import Level, Scope
from .domain.preferences import MAX_CAP

#: a kind of notification one can unsubscribe from (the schema lists them)
Kind = Annotated[str, Field(pattern="^(" + "|".join(sorted(UNSUBSCRIBABLE)) + ")$")]


class Body(BaseModel):
    #: unknown fields are refused (422 naming the field): no mass assignment
    model_config = ConfigDict(extra="forbid")


class FollowBody(Body):
    level: Level


class FollowView(BaseModel):
    scope: Scope
    id: str
    level: Level
    explicit: bool


class FollowPage(BaseModel):
    items: list[FollowView]
    next_cursor: str | None


HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class QuietHoursBody(Body):
    start: str = Field(max_length=5, pattern=HHMM, examples=["22:00"])
    end: str = Field(max_length=5, pattern=HHMM, examples=["07:30"])


class CapsBody(Body):
    # strict: `false` is not a cap of 0
    email_per_week: int | None = Field(default=None, ge=0, le=MAX_CAP, strict=True)
    push_per_day: int | None = Field(default=None, ge=0, le=MAX_CAP, strict=True)


class PreferencesBody(Body):
    preset: Literal["realtime", "balanced", "quiet", "digest_only"] = "balanced"
    channels: list[Literal["in_app", "email"]] = Field(default=["in_app", "email"], max_length=2)
    timezone: TimeZoneName = "UTC"
    quiet_hours: QuietHoursBody | None = None
    caps: CapsBody = Field(default_factory=CapsBody)
    digest: Literal["daily", "weekly"] = "daily"
    #: kinds whose emails are off; omitted: unchanged
    unsubscribed: list[Kind] | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")


class PreferencesView(BaseModel):
    preset: str
    channels: list[str]
    timezone: str
    quiet_hours: QuietHoursBody | None
    caps: CapsBody
    digest: str
    unsubscribed: list[str]
    email: str | None
    #: the caps in force (the preset's where none is set)
    effective_caps: CapsBody


class EntryView(BaseModel):
    id: str
    kind: str
    text: str
    link: str
    count: int
    latest: datetime
    read: bool


class InboxPage(BaseModel):
    items: list[EntryView]
    next_cursor: str | None
    unread: int


class Read(BaseModel):
    id: str | None
    read: bool = True


class HeldItem(BaseModel):
    text: str
    kind: str
    reason: str
    at: datetime


class BudgetView(BaseModel):
    caps: CapsBody
    #: the caps after adaptation: halved per level, never above ``caps``
    effective: CapsBody
    shrink_level: int
    used: dict[str, int]
    #: how many notifications were held back, by reason
    held: dict[str, int]
    recent_held: list[HeldItem]
    #: held items waiting in the next digest and when it is due
    next_digest: dict[str, int | float | str | None]


class Unsubscribed(BaseModel):
    member: str
    kind: str
    unsubscribed: bool = True
