"""The budget of interruptions and the decision for one notification (issue 25 item 3).

Pure: the state is a plain object, time is passed in (the event's time, so that a replay
decides exactly as the live run did). Rules, in order:

1. P0 always goes through: in-app, and email unless the member turned email off or
   unsubscribed that kind. P0 never spends the budget, so it can never exhaust it.
2. A muted scope drops the rest (reason ``muted``; not in the digest).
3. ``digest_only``, ``quiet`` for P2/P3, and a ``tracking`` follow fold into the digest
   (reason ``budget``: the member chose a budget of zero interruptions for them).
4. Quiet hours in the member's time zone, and the 10 minutes after the member's last
   visit ("you were just here"), fold into the digest.
5. Otherwise each channel spends its own budget: pushes per rolling day, emails per rolling
   week, each at most the member's cap shrunk by the adaptive level. What no channel takes
   folds into the digest (``budget``, or ``unsubscribed`` when only the unsubscribe
   stopped the email and in-app was off).

Adaptation: a run of ``IGNORED_RUN`` delivered notifications without a read shrinks the
budget one level (each level halves the caps, at most ``MAX_SHRINK`` levels, never below
one while the cap is above zero); a read grows it back one level. The effective cap is
never above the member's cap, so the property "no member ever receives more than their caps
through any channel" holds whatever the adaptation does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .classes import Priority, priority_of
from .preferences import Preferences

DAY = 86400.0
WEEK = 7 * DAY
#: "you were just here": no interruption within this many seconds of the last visit
RECENTLY_ACTIVE_SECONDS = 600.0
IGNORED_RUN = 5
MAX_SHRINK = 3


@dataclass
class BudgetState:
    """What the budget remembers about one member (all times in epoch seconds)."""

    #: times of budgeted emails (rolling week) and pushes (rolling day); P0 is not here
    emails: list[float] = field(default_factory=list)
    pushes: list[float] = field(default_factory=list)
    shrink: int = 0
    ignored_run: int = 0
    last_active: float | None = None
    #: how many notifications were held back, per reason (what the member is shown)
    held: dict[str, int] = field(default_factory=dict)

    def to_doc(self) -> dict[str, Any]:
        return {
            "emails": list(self.emails),
            "pushes": list(self.pushes),
            "shrink": self.shrink,
            "ignored_run": self.ignored_run,
            "last_active": self.last_active,
            "held": dict(self.held),
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any] | None) -> BudgetState:
        doc = doc or {}
        return cls(
            emails=[float(x) for x in doc.get("emails", [])],
            pushes=[float(x) for x in doc.get("pushes", [])],
            shrink=int(doc.get("shrink", 0)),
            ignored_run=int(doc.get("ignored_run", 0)),
            last_active=doc.get("last_active"),
            held=dict(doc.get("held", {})),
        )


@dataclass(frozen=True)
class Decision:
    channels: tuple[str, ...]
    #: None: delivered; else why it was held back or dropped
    reason: str | None = None
    in_digest: bool = False

    @property
    def delivered(self) -> bool:
        return bool(self.channels)


def effective_cap(cap: int, shrink: int) -> int:
    if cap <= 0:
        return 0
    return max(1, cap >> shrink)


def _used(times: list[float], now: float, window: float) -> int:
    # entries "in the future" of an out-of-order event count too: conservative
    return sum(1 for t in times if t > now - window)


def _prune(times: list[float], now: float, window: float) -> list[float]:
    newest = max([now, *times])
    return [t for t in times if t > newest - window]


def decide(
    kind: str,
    prefs: Preferences,
    state: BudgetState,
    at: datetime,
    *,
    level: str | None = None,
) -> Decision:
    """Decide one notification of ``kind`` for the member whose ``state`` this is, and spend
    the budget accordingly (mutates ``state``). ``level``: the follow level of the scope the
    notification comes from (None: not a followed scope)."""
    now = at.timestamp()
    priority = priority_of(kind)
    email_ok = "email" in prefs.channels and kind not in prefs.unsubscribed
    if priority is Priority.P0:
        return Decision(("in_app", "email") if email_ok else ("in_app",))
    decision = _hold_or_spend(kind, priority, prefs, state, now, level, email_ok)
    if decision.reason is not None:
        state.held[decision.reason] = state.held.get(decision.reason, 0) + 1
    else:
        state.ignored_run += 1
        if state.ignored_run >= IGNORED_RUN:
            state.shrink = min(MAX_SHRINK, state.shrink + 1)
            state.ignored_run = 0
    return decision


def _hold_or_spend(
    kind: str,
    priority: Priority,
    prefs: Preferences,
    state: BudgetState,
    now: float,
    level: str | None,
    email_ok: bool,
) -> Decision:
    if level == "muted":
        return Decision((), "muted", in_digest=False)
    if (
        prefs.preset == "digest_only"
        or (prefs.preset == "quiet" and priority >= Priority.P2)
        or (level == "tracking" and priority >= Priority.P2)
    ):
        return Decision((), "budget", in_digest=True)
    if prefs.in_quiet_hours(datetime.fromtimestamp(now, UTC)):
        return Decision((), "quiet_hours", in_digest=True)
    if state.last_active is not None and 0 <= now - state.last_active < RECENTLY_ACTIVE_SECONDS:
        return Decision((), "recently_active", in_digest=True)
    state.pushes = _prune(state.pushes, now, DAY)
    state.emails = _prune(state.emails, now, WEEK)
    channels: list[str] = []
    if "in_app" in prefs.channels and _used(state.pushes, now, DAY) < effective_cap(
        prefs.push_cap, state.shrink
    ):
        state.pushes.append(now)
        channels.append("in_app")
    if email_ok and _used(state.emails, now, WEEK) < effective_cap(prefs.email_cap, state.shrink):
        state.emails.append(now)
        channels.append("email")
    if channels:
        return Decision(tuple(channels))
    only_unsubscribed = (
        "in_app" not in prefs.channels and "email" in prefs.channels and kind in prefs.unsubscribed
    )
    return Decision((), "unsubscribed" if only_unsubscribed else "budget", in_digest=True)


def on_read(state: BudgetState, at: datetime) -> None:
    """The member opened a notification: the budget grows back one level."""
    state.shrink = max(0, state.shrink - 1)
    state.ignored_run = 0
    on_visit(state, at)


def on_visit(state: BudgetState, at: datetime) -> None:
    """The member was here (read, posted, voted...)."""
    t = at.timestamp()
    state.last_active = t if state.last_active is None else max(state.last_active, t)
