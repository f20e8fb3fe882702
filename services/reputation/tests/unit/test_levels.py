"""SPEC 4 levels: 0 new (< 10), 1 basic (≥ 10), 2 member (≥ 100), 3 regular (≥ 500),
4 leader (≥ 2000)."""

from __future__ import annotations

import pytest

from reputation.domain import rules


@pytest.mark.parametrize(
    ("reputation", "level", "name"),
    [
        (1, 0, "new"),
        (9, 0, "new"),
        (10, 1, "basic"),
        (99, 1, "basic"),
        (100, 2, "member"),
        (499, 2, "member"),
        (500, 3, "regular"),
        (1999, 3, "regular"),
        (2000, 4, "leader"),
        (100_000, 4, "leader"),
    ],
)
def test_level_thresholds(reputation, level, name):
    assert rules.level_for(reputation) == level
    assert rules.level_name(level) == name


@pytest.mark.parametrize(
    ("reputation", "expected"),
    [
        (1, (1, 9)),
        (10, (2, 90)),
        (150, (3, 350)),
        (1999, (4, 1)),
        (2000, (None, 0)),
        (5000, (None, 0)),
    ],
)
def test_next_level_and_points_to_it(reputation, expected):
    assert rules.next_level(reputation) == expected


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
