"""Fold one user's facts, in canonical (time, id) order, into ledger, total, level, badges.

The fold keeps the *standing* facts (the latest vote of each voter on each target, the
current accept of each thread, the statuses each idea reached, the removed posts) and
derives the raw sum of effects from them after each step; a ledger entry is the change
that step made. So a withdrawn or changed vote reverses exactly what it earned, the daily
cap applies to the day's standing total, and the result does not depend on arrival order.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
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


@dataclass
class UserState:
    user_id: str
    raw: int = 0  # sum of all effects
    entries: list[Entry] = field(default_factory=list)
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
    def __init__(self, user_id: str, removals: dict[str, Removal]) -> None:
        self.user = user_id
        self.removals = removals
        self.removed: set[str] = set()
        self.votes: dict[tuple[str, str], _Vote] = {}  # (voter, target) → standing vote
        self.serial_rank: dict[tuple[str, str, date], list[str]] = defaultdict(list)
        self.accepts: dict[str, dict[str, Any]] = {}  # thread → standing accept
        self.ideas_reached: dict[str, set[str]] = defaultdict(set)
        self.idea_votes: dict[str, int] = defaultdict(int)  # idea → standing up-votes
        self.reviews = 0
        self.activity: dict[str, datetime] = {}
        self.state = UserState(user_id)

    # -- the effects of the standing facts --------------------------------------------

    def raw_sum(self) -> int:
        day_up: dict[date, int] = defaultdict(int)
        other = 0
        for v in self.votes.values():
            if v.serial or v.target in self.removed or v.value == 0 or v.voter == v.author:
                continue  # a self-vote (the forum refuses them) earns nothing either
            if v.author == self.user:
                if v.value > 0:
                    day_up[v.day] += rules.upvote_points(v.kind)
                else:
                    other += rules.POINTS["downvote.received"]
            elif v.voter == self.user and v.value < 0 and v.kind == "reply":
                other += rules.POINTS["downvote.cast_on_reply"]
        up = sum(min(rules.DAILY_UPVOTE_CAP, pts) for pts in day_up.values())
        for a in self.accepts.values():
            if a["answer_post_id"] in self.removed:
                continue
            if a["answer_author_id"] == a["question_author_id"]:
                continue  # accepting your own answer earns nothing
            if a["answer_author_id"] == self.user:
                other += rules.POINTS["accept.answer_author"]
            if a["question_author_id"] == self.user:
                other += rules.POINTS["accept.question_author"]
        for reached in self.ideas_reached.values():
            if "planned" in reached:
                other += rules.POINTS["idea.planned"]
            if "completed" in reached:
                other += rules.POINTS["idea.completed"]
        return up + other

    # -- one step per fact ---------------------------------------------------------------

    def step(self, fact: Fact | Removal) -> None:
        before = self.state.raw
        reason: str | None
        if isinstance(fact, Removal):
            self.removed.add(fact.post_id)
            reason, event_id, at = "post-removed", fact.event_id, fact.at
        else:
            reason = self._apply(fact)
            event_id, at = fact.event_id, fact.at
        after = self.raw_sum()
        self.state.raw = after
        delta = after - before
        if reason is None:
            return
        if delta == 0:
            if self._voter_side and not (reason == "serial-voting" and self._would_cost):
                return  # a vote that costs its voter nothing is not in the voter's ledger
            if reason.startswith("upvote"):
                reason = "daily-cap"  # the day's standing up-votes already earned the cap
            elif not reason.startswith(("downvote", "vote", "serial")):
                return  # e.g. accepting your own answer: nothing to show
        self.state.entries.append(Entry(delta, reason, event_id, at))

    def _apply(self, fact: Fact) -> str | None:
        self._voter_side = False
        d = fact.data
        handler = getattr(self, f"_on_{fact.kind}", None)
        return handler(fact, d) if handler else None

    def _on_vote(self, fact: Fact, d: dict[str, Any]) -> str | None:
        key = (d["voter_id"], d["target_id"])
        day = fact.at.date()
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
        self.votes[key] = _Vote(value, day, d["target_kind"], author, voter, d["target_id"], serial)
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
        if d["accepted"]:
            self.accepts[d["thread_id"]] = d
            if d["answer_author_id"] == self.user and d["question_author_id"] != self.user:
                accepted = sum(
                    1
                    for a in self.accepts.values()
                    if a["answer_author_id"] == self.user
                    and a["question_author_id"] != self.user
                    and a["answer_post_id"] not in self.removed
                )
                self._award("helpful", fact)
                if accepted >= rules.PROBLEM_SOLVER_ACCEPTS:
                    self._award("problem-solver", fact)
            return "answer-accepted" if d["answer_author_id"] == self.user else "accepted-an-answer"
        current = self.accepts.get(d["thread_id"])
        if current and current["answer_post_id"] == d["answer_post_id"]:
            del self.accepts[d["thread_id"]]
        return "answer-unaccepted"

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

    def _on_idea(self, fact: Fact, d: dict[str, Any]) -> str | None:
        self._activity("ideas", fact.at)
        return None

    def _on_status(self, fact: Fact, d: dict[str, Any]) -> str | None:
        status = d["to_status"]
        if status not in ("planned", "completed") or status in self.ideas_reached[d["idea_id"]]:
            return None
        self.ideas_reached[d["idea_id"]].add(status)
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


def fold(user_id: str, facts: list[Fact], removals: list[Removal]) -> UserState:
    """Derive a user's state from their facts and the removals of posts they touch."""
    by_post = {r.post_id: r for r in sorted(removals, key=lambda r: (r.at, r.event_id))[::-1]}
    folder = _Fold(user_id, by_post)
    steps: list[tuple[datetime, str, Fact | Removal]] = [
        (x.at, x.event_id, x) for x in facts if x.kind != "removed"
    ]
    steps += [(r.at, r.event_id, r) for r in by_post.values()]
    for _at, eid, item in sorted(steps, key=lambda s: (s[0], s[1])):
        folder._current_event = eid
        folder.step(item)
    return folder.state
