"""Per-level upload quotas (levels learned from reputation.events; SPEC 4 levels)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from schemas.levels import BASIC, LEADER, MEMBER, NEW, REGULAR

from .model import MediaKind


@dataclass(frozen=True)
class Quota:
    images_per_day: int
    videos_per_day: int
    #: uploads wait for a moderator before anyone else sees them
    held: bool = False


#: level 0: a few images a day, no video, held for review; higher levels more
QUOTAS: dict[int, Quota] = {
    NEW: Quota(images_per_day=5, videos_per_day=0, held=True),
    BASIC: Quota(images_per_day=20, videos_per_day=3),
    MEMBER: Quota(images_per_day=50, videos_per_day=10),
    REGULAR: Quota(images_per_day=200, videos_per_day=30),
    LEADER: Quota(images_per_day=500, videos_per_day=100),
}
#: moderators and staff upload with the top level's quota
STAFF_QUOTA = QUOTAS[LEADER]


def quota_for(level: int, *, staff: bool = False) -> Quota:
    if staff:
        return STAFF_QUOTA
    return QUOTAS[max(NEW, min(LEADER, level))]


def allowed(quota: Quota, kind: MediaKind) -> int:
    return quota.videos_per_day if kind == "video" else quota.images_per_day


def day_of(t: datetime) -> str:
    """The quota period: the UTC day."""
    return t.astimezone(UTC).strftime("%Y-%m-%d")


def seconds_to_midnight(t: datetime) -> int:
    t = t.astimezone(UTC)
    nxt = (t + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, int((nxt - t).total_seconds()))
