"""Bad preferences are refused naming the field; unsubscribe tokens cannot be forged."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from notifications.domain import tokens
from notifications.domain.preferences import PreferenceError, Preferences, QuietHours


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"preset": "loud"}, "preset"),
        ({"channels": frozenset({"pigeon"})}, "channels"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"quiet_hours": QuietHours("25:00", "07:00")}, "quiet_hours.start"),
        ({"quiet_hours": QuietHours("22:00", "7am")}, "quiet_hours.end"),
        ({"email_per_week": -1}, "caps.email_per_week"),
        ({"push_per_day": -5}, "caps.push_per_day"),
        ({"unsubscribed": frozenset({"spam"})}, "unsubscribed"),
    ],
)
def test_bad_preferences_name_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(PreferenceError) as e:
        Preferences(**kwargs)  # type: ignore[arg-type]
    assert e.value.field == field


def test_quiet_hours_across_midnight_in_the_members_zone() -> None:
    p = Preferences(timezone="Europe/Paris", quiet_hours=QuietHours("22:00", "07:00"))
    assert p.in_quiet_hours(datetime(2026, 1, 5, 21, 30, tzinfo=UTC))  # 22:30 Paris
    assert p.in_quiet_hours(datetime(2026, 1, 5, 5, 0, tzinfo=UTC))  # 06:00 Paris
    assert not p.in_quiet_hours(datetime(2026, 1, 5, 6, 0, tzinfo=UTC))  # 07:00 Paris


def test_preferences_round_trip() -> None:
    p = Preferences(
        preset="quiet",
        email_per_week=2,
        unsubscribed=frozenset({"digest"}),
        quiet_hours=QuietHours("23:00", "06:30"),
        timezone="Asia/Tokyo",
    )
    assert Preferences.from_doc(p.to_doc()) == p


def test_tokens_verify_and_refuse_forgeries() -> None:
    t = tokens.sign("s" * 32, "alice", "reply")
    assert tokens.verify("s" * 32, t) == ("alice", "reply")
    body, mac = t.split(".")
    other = tokens.sign("s" * 32, "bob", "reply")
    for bad in [
        f"{other.split('.')[0]}.{mac}",
        t + "x",
        "garbage",
        f"{body}.",
        "a.b.c",
        tokens.sign("another-secret-of-32-bytes-000000", "alice", "reply"),
    ]:
        with pytest.raises(tokens.BadTokenError):
            tokens.verify("s" * 32, bad)
