"""Fold one user's facts, in canonical (time, id) order, into ledger, total, level, badges.

The fold keeps the *standing* facts (the latest vote of each voter on each target, the
current accept of each thread, the statuses each idea reached, the removed posts) and
derives the raw sum of effects from them after each step; a ledger entry is the change
that step made. So a withdrawn or changed vote reverses exactly what it earned, the daily
cap applies to the day's standing total, and the result does not depend on arrival order.

A :class:`Scope` restricts which standing effects the sum counts. The raw sum is a sum of
independent pieces (one capped sum per UTC day of the votes' cast day, plus accepts and idea
statuses), so a user's sum is the sum of the scoped sums and each step's change is the sum
of its scoped changes (:class:`Part`). The projection uses that to fold only what a batch can
affect (``scopes.py``); the whole fold (``WHOLE``) is the reference the unit tests pin.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from . import rules
from .facts import Fact, Removal


@dataclass(frozen=True)
class Entry:
    """One ledger line: what a fact did to this user's reputation."""

    delta: int
    reason: str
    source_event_id: str
    at: datetime

    @property
    def key(self) -> str:
        return f"{self.source_event_id}:{self.reason}"


def utc_day(at: datetime) -> date:
    """The UTC day of an instant (the cap and serial voting are per UTC day)."""
    return at.astimezone(UTC).date() if at.tzinfo else at.date()


@dataclass(frozen=True)
class Scope:
    """Which standing effects a fold counts: votes cast on ``day`` (every day when None)
    and/or the uncapped others (accepted answers, idea statuses)."""

    day: date | None = None
    votes: bool = True
    others: bool = True

    @property
    def whole(self) -> bool:
        return self.day is None and self.votes and self.others


WHOLE = Scope()


@dataclass(frozen=True)
class Part:
    """What one step changed in one scope. The parts of one event, summed over the scopes
    that see it, are its ledger line (:func:`show`); the *primary* part is the one computed
    where the fact itself is counted, and it decides the reason."""

    delta: int
    reason: str
    source_event_id: str
    at: datetime
    primary: bool = True
    voter_side: bool = False  # the user cast the vote on someone else's content
    would_cost: bool = False  # a down-vote on a reply (costs the voter when it counts)


def show(parts: list[Part]) -> Entry | None:
    """The ledger line of one event from its parts, or None when it is not shown: a step
    that changed nothing is shown only where it explains why (cap, serial, withdrawal)."""
    if not parts:
        return None
    delta = sum(p.delta for p in parts)
    lead = next((p for p in parts if p.primary), None)
    if lead is None:  # e.g. a removal: shown when it took something back
        if delta == 0:
            return None
        lead = parts[0]
    reason = lead.reason
    if delta == 0:
        if lead.voter_side and not (reason == "serial-voting" and lead.would_cost):
            return None  # a vote that costs its voter nothing is not in the voter's ledger
        if reason.startswith("upvote"):
            reason = "daily-cap"  # the day's standing up-votes already earned the cap
        elif not reason.startswith(("downvote", "vote", "serial")):
            return None  # e.g. accepting your own answer: nothing to show
    return Entry(delta, reason, lead.source_event_id, lead.at)


@dataclass
class UserState:
    user_id: str
    raw: int = 0  # sum of all effects (in the fold's scope)
    entries: list[Entry] = field(default_factory=list)  # shown lines (whole fold only)
    parts: list[Part] = field(default_factory=list)
    badges: dict[str, str] = field(default_factory=dict)  # badge → source event id
    badge_times: dict[str, datetime] = field(default_factory=dict)

    @property
    def reputation(self) -> int:
        return max(rules.FLOOR, rules.START + self.raw)

    @property
    def level(self) -> int:
        return rules.level_for(self.reputation)


@dataclass
class _Vote:
    value: int
    day: date
    kind: str
    author: str
    voter: str
    target: str
    serial: bool


class _Fold:
    def __init__(self, user_id: str, removals: dict[str, Removal], scope: Scope = WHOLE) -> None:
        self.user = user_id
        self.scope = scope
        self.removals = removals
        self.removed: set[str] = set()
        self.votes: dict[tuple[str, str], _Vote] = {}  # (voter, target) → standing vote
        self.serial_rank: dict[tuple[str, str, date], list[str]] = defaultdict(list)
        self.accepts: dict[str, dict[str, Any]] = {}  # thread → standing accept
        self.ideas_reached: dict[str, set[str]] = defaultdict(set)
        self.idea_votes: dict[str, int] = defaultdict(int)  # idea → standing up-votes
        self.reviews = 0
        self.attended: set[str] = set()  # gatherings the user checked in at
        self.hosted: dict[str, set[str]] = defaultdict(set)  # gathering → members checked in
        self.activity: dict[str, datetime] = {}
        self.state = UserState(user_id)
        # the raw sum, kept up to date step by step (a step costs what it touches, never a
        # pass over every standing fact): see raw_sum
        self.by_target: dict[str, set[tuple[str, str]]] = defaultdict(set)  # target → votes
        self.day_up: dict[date, int] = defaultdict(int)  # uncapped up-vote points per day
        self.up = 0  # sum over days of the capped day_up
        self.vote_other = 0  # down-votes received and cast on replies
        self.by_answer: dict[str, set[str]] = defaultdict(set)  # answer post → threads
        self.accept_sum = 0
        self.solved: set[str] = set()  # threads whose standing accept counts as solved
        self.idea_sum = 0

    # -- the effects of the standing facts --------------------------------------------

    def raw_sum(self) -> int:
        """The sum of the standing effects in the fold's scope (kept incrementally: each
        vote, accept, status and removal adjusts only what it touches)."""
        if not self.scope.others:
            return self.up + self.vote_other
        return self.up + self.vote_other + self.accept_sum + self.idea_sum

    def _vote_effect(self, v: _Vote) -> tuple[int, int]:
        """(uncapped up-vote points on ``v.day``, other points) of one standing vote."""
        scope = self.scope
        if not scope.votes or (scope.day is not None and v.day != scope.day):
            return 0, 0  # counted in the scope of the day it was cast
        if v.serial or v.target in self.removed or v.value == 0 or v.voter == v.author:
            return 0, 0  # a self-vote (the forum refuses them) earns nothing either
        if v.author == self.user:
            if v.value > 0:
                return rules.upvote_points(v.kind), 0
            return 0, rules.POINTS["downvote.received"]
        if v.voter == self.user and v.value < 0 and v.kind == "reply":
            return 0, rules.POINTS["downvote.cast_on_reply"]
        return 0, 0

    def _count_vote(self, v: _Vote, sign: int) -> None:
        up, other = self._vote_effect(v)
        self.vote_other += sign * other
        if up:
            was = self.day_up[v.day]
            self.day_up[v.day] = was + sign * up
            cap = rules.DAILY_UPVOTE_CAP
            self.up += min(cap, self.day_up[v.day]) - min(cap, was)

    def _count_accept(self, thread: str, sign: int) -> None:
        a = self.accepts.get(thread)
        if a is None:
            return
        pts = 0
        solved = False
        if (
            a["answer_post_id"] not in self.removed
            and a["answer_author_id"] != a["question_author_id"]
        ):  # accepting your own answer earns nothing
            if a["answer_author_id"] == self.user:
                pts += rules.POINTS["accept.answer_author"]
                solved = True
            if a["question_author_id"] == self.user:
                pts += rules.POINTS["accept.question_author"]
        self.accept_sum += sign * pts
        if sign > 0 and solved:
            self.solved.add(thread)
        elif sign < 0:
            self.solved.discard(thread)

    def _set_removed(self, post_id: str, removed: bool) -> None:
        """Toggle a post's removal, re-counting only the votes and accepts that touch it."""
        if (post_id in self.removed) == removed:
            return
        votes = [self.votes[k] for k in self.by_target.get(post_id, ())]
        threads = list(self.by_answer.get(post_id, ()))
        for v in votes:
            self._count_vote(v, -1)
        for t in threads:
            self._count_accept(t, -1)
        if removed:
            self.removed.add(post_id)
        else:
            self.removed.discard(post_id)
        for v in votes:
            self._count_vote(v, +1)
        for t in threads:
            self._count_accept(t, +1)

    # -- one step per fact ---------------------------------------------------------------

    def step(self, fact: Fact | Removal) -> None:
        before = self.state.raw
        reason: str | None
        if isinstance(fact, Removal):  # the latest removal or restore so far decides
            self._set_removed(fact.post_id, not fact.restored)
            reason = "post-restored" if fact.restored else "post-removed"
            event_id, at = fact.event_id, fact.at
            self._voter_side = self._would_cost = False
            primary = self.scope.whole  # a removal's line is the sum of its scoped parts
        else:
            reason = self._apply(fact)
            event_id, at = fact.event_id, fact.at
            primary = self._primary(fact)
        after = self.raw_sum()
        self.state.raw = after
        if reason is None:
            return
        self.state.parts.append(
            Part(after - before, reason, event_id, at, primary, self._voter_side, self._would_cost)
        )

    def _primary(self, fact: Fact) -> bool:
        if self.scope.day is None or fact.kind != "vote":
            return True
        return utc_day(fact.at) == self.scope.day

    def _apply(self, fact: Fact) -> str | None:
        self._voter_side = False
        d = fact.data
        handler = getattr(self, f"_on_{fact.kind}", None)
        reason = handler(fact, d) if handler else None
        if fact.kind == "vote" and not self.scope.votes:
            return None  # seen for badges and activity only
        return reason

    def _on_vote(self, fact: Fact, d: dict[str, Any]) -> str | None:
        key = (d["voter_id"], d["target_id"])
        day = utc_day(fact.at)
        value = int(d["value"])
        author, voter = d["author_id"], d["voter_id"]
        ranks = self.serial_rank[(voter, author, day)]
        if value != 0 and d["target_id"] not in ranks:
            ranks.append(d["target_id"])
        serial = (
            d["target_id"] in ranks and ranks.index(d["target_id"]) >= rules.SERIAL_VOTES_COUNTED
        )
        self._voter_side = voter == self.user and author != self.user
        self._would_cost = value < 0 and d["target_kind"] == "reply"
        previous = self.votes.get(key)
        if previous is not None:
            self._count_vote(previous, -1)
        self.votes[key] = _Vote(value, day, d["target_kind"], author, voter, d["target_id"], serial)
        self.by_target[d["target_id"]].add(key)
        self._count_vote(self.votes[key], +1)
        if voter == self.user:
            self._activity("ideas" if d["target_type"] == "idea" else "voted", fact.at)
        if d["target_type"] == "idea" and author == self.user:
            self.idea_votes[d["target_id"]] += (value > 0) - (
                previous is not None and previous.value > 0
            )
            if self.idea_votes[d["target_id"]] >= rules.POPULAR_IDEA_VOTES:
                self._award("popular-idea", fact)
        if serial:
            return "serial-voting"
        if value == 0:
            return "vote-withdrawn"
        if value > 0:
            return f"upvote-{d['target_kind']}"
        return "downvote-cast" if voter == self.user else "downvote-received"

    def _on_accept(self, fact: Fact, d: dict[str, Any]) -> str | None:
        thread = d["thread_id"]
        if d["accepted"]:
            self._set_accept(thread, d)
            if d["answer_author_id"] == self.user and d["question_author_id"] != self.user:
                self._award("helpful", fact)
                if len(self.solved) >= rules.PROBLEM_SOLVER_ACCEPTS:
                    self._award("problem-solver", fact)
            return "answer-accepted" if d["answer_author_id"] == self.user else "accepted-an-answer"
        current = self.accepts.get(thread)
        if current and current["answer_post_id"] == d["answer_post_id"]:
            self._set_accept(thread, None)
        return "answer-unaccepted"

    def _set_accept(self, thread: str, d: dict[str, Any] | None) -> None:
        """Replace (or end, with None) a thread's standing accept."""
        current = self.accepts.get(thread)
        if current is not None:
            self._count_accept(thread, -1)
            self.by_answer[current["answer_post_id"]].discard(thread)
            del self.accepts[thread]
        if d is not None:
            self.accepts[thread] = d
            self.by_answer[d["answer_post_id"]].add(thread)
            self._count_accept(thread, +1)

    def _on_post(self, fact: Fact, d: dict[str, Any]) -> str | None:
        kind = d["kind"]
        if kind == "question":
            self._award("first-question", fact)
            self._activity("asked", fact.at)
        elif kind == "reply":
            self._award("first-answer", fact)
            self._activity("answered", fact.at)
        elif kind in ("review", "article"):
            self._activity("wrote", fact.at)
            if kind == "review":
                self.reviews += 1
                if self.reviews >= rules.REVIEWER_REVIEWS:
                    self._award("reviewer", fact)
        return None

    def _on_checkin(self, fact: Fact, d: dict[str, Any]) -> str | None:
        """attendee at the check-in that makes 3 distinct gatherings; host at the check-in
        that makes 10 distinct members (not the host) at one of the user's gatherings."""
        if d["user_id"] == self.user:
            self.attended.add(d["gathering_id"])
            if len(self.attended) >= rules.ATTENDEE_GATHERINGS:
                self._award("attendee", fact)
        if d["host_id"] == self.user and d["user_id"] != self.user:
            members = self.hosted[d["gathering_id"]]
            members.add(d["user_id"])
            if len(members) >= rules.HOST_CHECKINS:
                self._award("host", fact)
        return None

    def _on_idea(self, fact: Fact, d: dict[str, Any]) -> str | None:
        self._activity("ideas", fact.at)
        return None

    def _on_act(self, fact: Fact, d: dict[str, Any]) -> str | None:
        """An activity point kept for the champion badge (see ``scopes.activity``)."""
        self._activity(d["kind"], fact.at)
        return None

    def _on_status(self, fact: Fact, d: dict[str, Any]) -> str | None:
        status = d["to_status"]
        if status not in ("planned", "completed") or status in self.ideas_reached[d["idea_id"]]:
            return None
        self.ideas_reached[d["idea_id"]].add(status)
        self.idea_sum += rules.POINTS[f"idea.{status}"]
        if status == "completed":
            self._award("visionary", fact)
        return f"idea-{status}"

    def _activity(self, kind: str, at: datetime) -> None:
        self.activity[kind] = at
        window = at - timedelta(days=rules.CHAMPION_WINDOW_DAYS)
        recent = sum(1 for t in self.activity.values() if t >= window)
        if recent >= rules.CHAMPION_KINDS_NEEDED:
            self.state.badges.setdefault("champion", "")
            if not self.state.badges["champion"]:
                self.state.badges["champion"] = self._current_event
                self.state.badge_times["champion"] = at

    def _award(self, badge: str, fact: Fact) -> None:
        if badge not in self.state.badges:
            self.state.badges[badge] = fact.event_id
            self.state.badge_times[badge] = fact.at

    _current_event = ""
    _voter_side = False
    _would_cost = False


def fold(
    user_id: str, facts: list[Fact], removals: list[Removal], scope: Scope = WHOLE
) -> UserState:
    """Derive a user's state from their facts and the removals of posts they touch (in
    ``scope``; the whole fold also fills ``entries``, the shown ledger lines)."""
    by_event = {r.event_id: r for r in removals}  # each removal and restore is one step
    folder = _Fold(user_id, by_event, scope)
    steps: list[tuple[datetime, str, Fact | Removal]] = [
        (x.at, x.event_id, x) for x in facts if x.kind != "removed"
    ]
    steps += [(r.at, r.event_id, r) for r in by_event.values()]
    for _at, eid, item in sorted(steps, key=lambda s: (s[0], s[1])):
        folder._current_event = eid
        folder.step(item)
    state = folder.state
    if scope.whole:
        state.entries = [e for p in state.parts if (e := show([p])) is not None]
    return state
