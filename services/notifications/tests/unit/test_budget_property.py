"""The budget's promise, over random event streams and random preferences (issue 25):
no member ever receives more than their caps through any channel, P0 is never suppressed,
nothing goes through a channel the member turned off or a kind they unsubscribed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from notifications.domain.budget import DAY, WEEK, BudgetState, decide, on_read
from notifications.domain.classes import KINDS, UNSUBSCRIBABLE, Priority, priority_of
from notifications.domain.preferences import PRESETS, Preferences, QuietHours

T0 = datetime(2026, 3, 1, tzinfo=UTC)
hhmm = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.integers(0, 59))
preferences = st.builds(
    Preferences,
    preset=st.sampled_from(PRESETS),
    channels=st.frozensets(st.sampled_from(["in_app", "email"])),
    timezone=st.sampled_from(["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata"]),
    quiet_hours=st.none() | st.builds(QuietHours, hhmm, hhmm),
    email_per_week=st.none() | st.integers(0, 15),
    push_per_day=st.none() | st.integers(0, 15),
    unsubscribed=st.frozensets(st.sampled_from(sorted(UNSUBSCRIBABLE)), max_size=4),
)
step = st.tuples(
    # seconds since the previous step; negative: events of other partitions arrive late
    st.integers(-3600, 30000),
    st.sampled_from(sorted(KINDS)),
    st.sampled_from([None, "watching", "tracking", "normal", "muted"]),
    st.booleans(),  # the member reads something right after
)


@settings(max_examples=400, deadline=None)
@given(prefs=preferences, steps=st.lists(step, max_size=150))
def test_no_member_ever_gets_more_than_their_caps_and_p0_always_goes_through(
    prefs: Preferences, steps: list[tuple[int, str, str | None, bool]]
) -> None:
    state = BudgetState()
    at = T0
    emails: list[float] = []
    pushes: list[float] = []
    for gap, kind, level, reads in steps:
        at += timedelta(seconds=gap)
        d = decide(kind, prefs, state, at, level=level)
        if priority_of(kind) is Priority.P0:
            assert d.reason is None and "in_app" in d.channels  # never suppressed
        else:
            if "email" in d.channels:
                emails.append(at.timestamp())
            if "in_app" in d.channels:
                pushes.append(at.timestamp())
            assert d.delivered == (d.reason is None)
        if "email" in d.channels:
            assert "email" in prefs.channels and kind not in prefs.unsubscribed
        if "in_app" in d.channels and priority_of(kind) is not Priority.P0:
            assert "in_app" in prefs.channels
        if reads:
            on_read(state, at + timedelta(seconds=1))
    # every window of a week (a day) holds at most the cap, wherever it starts
    for t in emails:
        assert sum(1 for x in emails if t - WEEK < x <= t) <= prefs.email_cap
    for t in pushes:
        assert sum(1 for x in pushes if t - DAY < x <= t) <= prefs.push_cap


@settings(max_examples=100, deadline=None)
@given(prefs=preferences, n=st.integers(1, 60))
def test_a_burst_of_followed_activity_folds_into_the_digest_beyond_the_budget(
    prefs: Preferences, n: int
) -> None:
    """A burst (50 replies in a minute) delivers at most the caps; the rest waits for the
    digest (or is dropped only when muted)."""
    state = BudgetState()
    decisions = [
        decide("watched_post", prefs, state, T0 + timedelta(seconds=i), level="watching")
        for i in range(n)
    ]
    assert sum("email" in d.channels for d in decisions) <= prefs.email_cap
    assert sum("in_app" in d.channels for d in decisions) <= prefs.push_cap
    assert all(d.delivered or d.in_digest for d in decisions)
