"""SPEC 4 levels in the projection (thresholds themselves: shared/schemas tests)."""

from __future__ import annotations

from reputation.domain import rules
from schemas import levels


def test_rules_use_the_contract_levels():
    assert rules.level_for is levels.level_for and rules.next_level is levels.next_level


def test_level_up_when_reputation_reaches_10(community):
    question = community.post("alice")
    community.vote("bob", question, +1)
    assert community.state("alice").level == 0  # 6

    community.vote("carol", question, +1)
    state = community.state("alice")
    assert state.reputation == 11
    assert state.level == 1


def test_level_down_when_points_are_reversed(community):
    question = community.post("alice")
    community.vote("bob", question, +1)
    community.vote("carol", question, +1)
    community.vote("carol", question, 0)

    state = community.state("alice")
    assert state.reputation == 6
    assert state.level == 0


def test_level_member_at_100_and_back_after_a_removal(community):
    answer = community.reply("bob", community.post("alice"))
    for n in range(10):
        community.vote(f"v{n}", answer, +1)  # 101
    assert community.state("bob").level == 2

    community.hide(answer)
    assert community.state("bob").level == 0
