"""The fold keeps its raw sum incrementally (a step re-counts only what it touches, so a
fold costs what it folds, not its square): after every step it must equal a full recount
of the standing facts, in every scope, on random histories with removals and restores."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date

import pytest

from reputation.domain import fold as fold_module
from reputation.domain import rules
from reputation.domain.fold import WHOLE, Scope, fold, utc_day
from reputation.domain.scopes import PROFILE, day_scope

from .conftest import day
from .test_scopes import _hot_history, _random_history


def _recount(f: fold_module._Fold) -> int:
    """The standing effects summed from scratch (the definition the fold keeps up to date)."""
    day_up: dict[date, int] = defaultdict(int)
    other = 0
    scope = f.scope
    for v in f.votes.values() if scope.votes else ():
        if scope.day is not None and v.day != scope.day:
            continue
        if v.serial or v.target in f.removed or v.value == 0 or v.voter == v.author:
            continue
        if v.author == f.user:
            if v.value > 0:
                day_up[v.day] += rules.upvote_points(v.kind)
            else:
                other += rules.POINTS["downvote.received"]
        elif v.voter == f.user and v.value < 0 and v.kind == "reply":
            other += rules.POINTS["downvote.cast_on_reply"]
    up = sum(min(rules.DAILY_UPVOTE_CAP, pts) for pts in day_up.values())
    if not scope.others:
        return up + other
    for a in f.accepts.values():
        if a["answer_post_id"] in f.removed or a["answer_author_id"] == a["question_author_id"]:
            continue
        if a["answer_author_id"] == f.user:
            other += rules.POINTS["accept.answer_author"]
        if a["question_author_id"] == f.user:
            other += rules.POINTS["accept.question_author"]
    for reached in f.ideas_reached.values():
        other += rules.POINTS["idea.planned"] if "planned" in reached else 0
        other += rules.POINTS["idea.completed"] if "completed" in reached else 0
    return up + other


@pytest.fixture
def checked(monkeypatch):
    """Every step of every fold asserts the kept sum against the recount."""
    steps = []
    original = fold_module._Fold.step

    def step(self, fact):
        original(self, fact)
        assert self.state.raw == _recount(self), (self.user, self.scope, fact)
        steps.append(1)

    monkeypatch.setattr(fold_module._Fold, "step", step)
    return steps


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("history", [_random_history, _hot_history])
def test_kept_sum_equals_recount_after_every_step(community, checked, seed, history):
    users = history(community, random.Random(seed))
    removals = list(community.removals)
    for user in users:
        facts = community.facts(user)
        scopes: list[Scope] = [WHOLE, PROFILE]
        scopes += [day_scope(d) for d in sorted({utc_day(f.at) for f in facts})]
        for scope in scopes:
            fold(user, facts, removals, scope)
    assert checked  # the histories did fold something


def test_hidden_then_restored_answer_and_votes_count_again(community, checked):
    """A restore re-counts exactly the accepts and votes of the post it gives back."""
    q = community.post("asker", "question", at=day(1))
    a = community.reply("helper", q, at=day(1, 10))
    community.vote("voter", a, 1, at=day(1, 11))
    community.accept(a, at=day(1, 12))
    community.hide(a, at=day(2))
    community.restore(a, at=day(3))
    removals = list(community.removals)
    for user in ("asker", "helper", "voter"):
        facts = community.facts(user)
        whole = fold(user, facts, removals)
        assert whole.raw == _recount_whole(user, facts, removals)
    helper = fold("helper", community.facts("helper"), removals)
    assert helper.raw == rules.upvote_points("reply") + rules.POINTS["accept.answer_author"]
    assert checked


def _recount_whole(user, facts, removals):
    f = fold_module._Fold(user, {r.event_id: r for r in removals}, WHOLE)
    steps = [(x.at, x.event_id, x) for x in facts] + [(r.at, r.event_id, r) for r in removals]
    for _at, _eid, item in sorted(steps, key=lambda s: (s[0], s[1])):
        f.step(item)
    return _recount(f)
