"""The escalation lifecycle of a question: a small explicit state machine (SPEC 3).

    (none) ──escalate──▶ open ──acknowledge (support)──▶ acknowledged
                          │                                  │
                          └──────────resolve─────────────────┴──▶ resolved
    resolved ──reopen (asker)──▶ open (next round)      resolved ──confirm (asker)──▶ confirmed

Every transition is a pure function from one value to the next; the ``Thread`` turns it into
the event it publishes. A transition that is not in ``TRANSITIONS`` is a ``ConflictError``.
``round`` counts the times the escalation (re)entered the queue: the deterministic event ids of
once-per-round facts (acknowledged, resolved, reopened) include it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from .errors import ConflictError

State = Literal["open", "acknowledged", "resolved"]
Resolution = Literal["answered_by_community", "answered_by_support", "closed"]
Reason = Literal["unanswered", "requested"]

#: the lifecycle, for the README and the tests: (from, action) -> to
TRANSITIONS: dict[tuple[State | None, str], State] = {
    (None, "escalate"): "open",
    ("open", "acknowledge"): "acknowledged",
    ("open", "resolve"): "resolved",
    ("acknowledged", "resolve"): "resolved",
    ("resolved", "reopen"): "open",
    ("resolved", "confirm"): "resolved",
}

#: states in which the question waits for support (the queue of GET /escalations?status=open)
PENDING: tuple[State, ...] = ("open", "acknowledged")


@dataclass(frozen=True)
class Escalation:
    state: State
    reason: Reason
    #: first escalation of the thread (the background check escalates at most once, ever)
    escalated_at: datetime
    #: when it last entered the queue (escalated or reopened): the queue's order
    queued_at: datetime
    round: int = 1
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    resolution: Resolution | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    #: the asker confirmed the resolution: it cannot be reopened any more
    confirmed: bool = False

    @property
    def pending(self) -> bool:
        return self.state in PENDING

    @staticmethod
    def start(reason: Reason, at: datetime) -> Escalation:
        return Escalation(state="open", reason=reason, escalated_at=at, queued_at=at)

    def _check(self, action: str) -> State:
        to = TRANSITIONS.get((self.state, action))
        if to is None:
            raise ConflictError(f"cannot {action} an escalation that is {self.state}")
        return to

    def acknowledge(self, by: str, at: datetime) -> Escalation:
        return replace(
            self, state=self._check("acknowledge"), acknowledged_by=by, acknowledged_at=at
        )

    def resolve(self, resolution: Resolution, by: str, at: datetime) -> Escalation:
        return replace(
            self,
            state=self._check("resolve"),
            resolution=resolution,
            resolved_by=by,
            resolved_at=at,
        )

    def reopen(self, at: datetime, *, confirmed_ok: bool = False) -> Escalation:
        """Back in the queue for another round. ``confirmed_ok``: the question itself came
        back in play (its accepted answer was withdrawn), so even a confirmed resolution may
        be reopened by escalating again."""
        to = self._check("reopen")
        if self.confirmed and not confirmed_ok:
            raise ConflictError("you confirmed this resolution; it cannot be reopened")
        return Escalation(
            state=to,
            reason=self.reason,
            escalated_at=self.escalated_at,
            queued_at=at,
            round=self.round + 1,
        )

    def confirm(self) -> Escalation:
        return replace(self, state=self._check("confirm"), confirmed=True)


def resolution_when_ended(*, others_replied: bool) -> Resolution:
    """An escalation ended without a support reply or an accepted answer: ``closed`` where
    nobody but the asker answered, else the community's answers are what ended it."""
    return "answered_by_community" if others_replied else "closed"


def resolution_for_accept(answer_author_id: str, question_author_id: str) -> Resolution:
    """Accepting a peer's answer resolves an escalation as answered by the community; the
    asker accepting their own reply closes it."""
    return "closed" if answer_author_id == question_author_id else "answered_by_community"
