"""A member's preferences (issue 25 item 3): preset, channels, quiet hours, caps, unsubscribes.

Presets give the caps a member has not set: ``realtime`` (most), ``balanced`` (the default),
``quiet`` (P2 and P3 only in the digest), ``digest_only`` (everything but P0 in the digest).
Explicit caps always win over the preset's; the adaptive budget never goes above them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime, time
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .classes import UNSUBSCRIBABLE

Preset = Literal["realtime", "balanced", "quiet", "digest_only"]
PRESETS: tuple[Preset, ...] = ("realtime", "balanced", "quiet", "digest_only")
CHANNELS = ("in_app", "email")
DigestPeriod = Literal["daily", "weekly"]

#: preset -> (emails per week, pushes per day)
PRESET_CAPS: dict[str, tuple[int, int]] = {
    "realtime": (21, 50),
    "balanced": (7, 10),
    "quiet": (3, 3),
    "digest_only": (0, 0),
}
#: the most any cap may be set to (a cap is a promise to the member, not a throughput knob)
MAX_CAP = 1000
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class PreferenceError(ValueError):
    """Invalid preferences; ``field`` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def parse_hhmm(value: str, field_name: str) -> time:
    m = _HHMM.match(value) if isinstance(value, str) else None
    if not m:
        raise PreferenceError(field_name, f"{value!r} is not a time of day HH:MM (00:00-23:59)")
    return time(int(m[1]), int(m[2]))


def check_timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise PreferenceError("timezone", f"{name!r} is not an IANA time zone") from None


@dataclass(frozen=True)
class QuietHours:
    start: str  # "HH:MM" local
    end: str

    def contains(self, local: time) -> bool:
        a, b = parse_hhmm(self.start, "quiet_hours.start"), parse_hhmm(self.end, "quiet_hours.end")
        if a == b:
            return False
        return a <= local < b if a < b else (local >= a or local < b)


@dataclass(frozen=True)
class Preferences:
    preset: Preset = "balanced"
    channels: frozenset[str] = frozenset(CHANNELS)
    timezone: str = "UTC"
    quiet_hours: QuietHours | None = None
    #: None: the preset's
    email_per_week: int | None = None
    push_per_day: int | None = None
    digest: DigestPeriod = "daily"
    #: kinds whose emails the member unsubscribed from (``digest`` stops the digest)
    unsubscribed: frozenset[str] = field(default_factory=frozenset)
    email: str | None = None

    def __post_init__(self) -> None:
        if self.preset not in PRESETS:
            raise PreferenceError("preset", f"preset must be one of {', '.join(PRESETS)}")
        bad = set(self.channels) - set(CHANNELS)
        if bad:
            raise PreferenceError("channels", f"unknown channel {sorted(bad)[0]!r}")
        check_timezone(self.timezone)
        if self.quiet_hours is not None:
            parse_hhmm(self.quiet_hours.start, "quiet_hours.start")
            parse_hhmm(self.quiet_hours.end, "quiet_hours.end")
        for name in ("email_per_week", "push_per_day"):
            v = getattr(self, name)
            if v is not None and not (0 <= v <= MAX_CAP):
                raise PreferenceError(f"caps.{name}", f"{name} must be between 0 and {MAX_CAP}")
        unknown = set(self.unsubscribed) - UNSUBSCRIBABLE
        if unknown:
            raise PreferenceError("unsubscribed", f"unknown kind {sorted(unknown)[0]!r}")

    # ------------------------------------------------------------------ caps
    @property
    def email_cap(self) -> int:
        return PRESET_CAPS[self.preset][0] if self.email_per_week is None else self.email_per_week

    @property
    def push_cap(self) -> int:
        return PRESET_CAPS[self.preset][1] if self.push_per_day is None else self.push_per_day

    def in_quiet_hours(self, now: datetime) -> bool:
        if self.quiet_hours is None:
            return False
        local = now.astimezone(ZoneInfo(self.timezone)).time()
        return self.quiet_hours.contains(local)

    def unsubscribe(self, kind: str) -> Preferences:
        if kind not in UNSUBSCRIBABLE:
            raise PreferenceError("kind", f"unknown kind {kind!r}")
        return replace(self, unsubscribed=self.unsubscribed | {kind})

    # ------------------------------------------------------------------ storage
    def to_doc(self) -> dict[str, Any]:
        return {
            "preset": self.preset,
            "channels": sorted(self.channels),
            "timezone": self.timezone,
            "quiet_hours": (
                None
                if self.quiet_hours is None
                else {"start": self.quiet_hours.start, "end": self.quiet_hours.end}
            ),
            "caps": {"email_per_week": self.email_per_week, "push_per_day": self.push_per_day},
            "digest": self.digest,
            "unsubscribed": sorted(self.unsubscribed),
            "email": self.email,
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any] | None) -> Preferences:
        if not doc:
            return cls()
        qh = doc.get("quiet_hours")
        caps = doc.get("caps") or {}
        return cls(
            preset=doc.get("preset", "balanced"),
            channels=frozenset(doc.get("channels", CHANNELS)),
            timezone=doc.get("timezone", "UTC"),
            quiet_hours=QuietHours(qh["start"], qh["end"]) if qh else None,
            email_per_week=caps.get("email_per_week"),
            push_per_day=caps.get("push_per_day"),
            digest=doc.get("digest", "daily"),
            unsubscribed=frozenset(doc.get("unsubscribed", ())),
            email=doc.get("email"),
        )
