"""Recurrences: the RFC 5545 RRULE subset gatherings accept, and their occurrences.

Accepted: ``FREQ=DAILY|WEEKLY|MONTHLY`` with exactly one of ``COUNT`` (1-366) or ``UNTIL``
(a UTC date-time ``YYYYMMDDTHHMMSSZ`` or a date ``YYYYMMDD``), optionally ``INTERVAL`` (1-12),
``BYDAY`` (weekly: ``MO,WE``...). Occurrences are computed in the gathering's own time zone
(naive local times expanded, then localised), so a weekly 18:00 Paris series stays at 18:00
local across a DST change (16:00 UTC in summer time, 17:00 UTC in winter time).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

from .errors import InvalidCommandError

FREQS = {"DAILY", "WEEKLY", "MONTHLY"}
DAYS = {"MO", "TU", "WE", "TH", "FR", "SA", "SU"}
MAX_COUNT = 366
#: occurrences ever expanded for one series (a bound on UNTIL far in the future)
MAX_OCCURRENCES = 366
UNTIL_RE = re.compile(r"^\d{8}(T\d{6}Z)?$")


def parse_rrule(rule: str) -> dict[str, str]:
    """Validate ``rule`` against the subset; return its parts (422 naming ``recurrence``)."""
    parts: dict[str, str] = {}
    text = rule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    for item in text.split(";"):
        key, sep, value = item.partition("=")
        key, value = key.strip().upper(), value.strip().upper()
        if not sep or not key or not value or key in parts:
            raise _bad(f"malformed RRULE part {item!r}")
        parts[key] = value
    unknown = set(parts) - {"FREQ", "COUNT", "UNTIL", "INTERVAL", "BYDAY"}
    if unknown:
        raise _bad(f"unsupported RRULE parts {sorted(unknown)}")
    if parts.get("FREQ") not in FREQS:
        raise _bad("FREQ must be DAILY, WEEKLY or MONTHLY")
    if ("COUNT" in parts) == ("UNTIL" in parts):
        raise _bad("give exactly one of COUNT or UNTIL")
    if "COUNT" in parts and not (
        parts["COUNT"].isdigit() and 1 <= int(parts["COUNT"]) <= MAX_COUNT
    ):
        raise _bad(f"COUNT must be 1-{MAX_COUNT}")
    if "UNTIL" in parts and not UNTIL_RE.match(parts["UNTIL"]):
        raise _bad("UNTIL must be YYYYMMDD or YYYYMMDDTHHMMSSZ")
    if "INTERVAL" in parts and not (
        parts["INTERVAL"].isdigit() and 1 <= int(parts["INTERVAL"]) <= 12
    ):
        raise _bad("INTERVAL must be 1-12")
    if "BYDAY" in parts and (
        parts["FREQ"] != "WEEKLY" or not set(parts["BYDAY"].split(",")) <= DAYS
    ):
        raise _bad("BYDAY is for WEEKLY rules: MO,TU,WE,TH,FR,SA,SU")
    return parts


def normalise(rule: str) -> str:
    """The canonical text of a valid rule (``FREQ=WEEKLY;COUNT=4``)."""
    parts = parse_rrule(rule)
    order = ["FREQ", "INTERVAL", "BYDAY", "COUNT", "UNTIL"]
    return ";".join(f"{k}={parts[k]}" for k in order if k in parts)


def _bad(why: str) -> InvalidCommandError:
    return InvalidCommandError(f"recurrence: {why}", field="recurrence")


def occurrences(
    starts_at: datetime, timezone: str, rule: str | None, limit: int = MAX_OCCURRENCES
) -> list[datetime]:
    """Start times (UTC) of every occurrence, the first included, at most ``limit``."""
    if rule is None:
        return [starts_at]
    tz = ZoneInfo(timezone)
    local = starts_at.astimezone(tz).replace(tzinfo=None)
    parts = parse_rrule(rule)
    text = normalise(rule)
    if "UNTIL" in parts:
        # UNTIL is UTC in the rule; dateutil compares it with naive local times: convert
        until = parts["UNTIL"]
        u = (
            datetime.strptime(until, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            if "T" in until
            else datetime.strptime(until, "%Y%m%d").replace(tzinfo=UTC) + timedelta(days=1)
        )
        u_local = u.astimezone(tz).replace(tzinfo=None)
        text = text.replace(f"UNTIL={until}", f"UNTIL={u_local:%Y%m%dT%H%M%S}")
    out: list[datetime] = []
    for naive in rrulestr(text, dtstart=local):
        out.append(naive.replace(tzinfo=tz).astimezone(UTC))
        if len(out) >= limit:
            break
    return out or [starts_at]
