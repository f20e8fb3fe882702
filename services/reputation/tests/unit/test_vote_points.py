"""SPEC 4 table: points for up-votes and down-votes, reversals, the floor."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("kind", ["question", "discussion", "article", "media", "review"])
def test_upvote_on_an_opening_post_gives_its_author_5(community, kind):
    post = community.post("alice", kind)
    community.vote("bob", post, +1)

    state = community.state("alice")
    assert state.reputation == 1 + 5
    assert [e.delta for e in state.entries] == [5]


def test_upvote_on_a_reply_gives_its_author_10(community):
    answer = community.reply("bob", community.post("alice"))
    community.vote("carol", answer, +1)

    assert community.reputation("bob") == 1 + 10


def test_upvote_on_an_idea_gives_its_author_5(community):
    idea = community.idea("alice")
    community.idea_vote("bob", idea, +1)

    assert community.reputation("alice") == 1 + 5


def test_upvote_costs_and_earns_the_voter_nothing(community):
    answer = community.reply("bob", community.post("alice"))
    community.vote("carol", answer, +1)

    assert community.reputation("carol") == 1


@pytest.mark.parametrize("kind", ["question", "discussion", "article", "media", "review", "reply"])
def test_downvote_on_any_post_costs_its_author_2(community, kind):
    target = community.post("bob", kind)
    if kind == "reply":
        target = community.reply("bob", community.post("alice"))
    community.vote("dave", community.post("bob", "article"), +1)  # +5 so the floor stays away
    community.vote("carol", target, -1)

    state = community.state("bob")
    assert state.raw == 5 - 2
    assert state.entries[-1].delta == -2


def test_downvote_cast_on_a_reply_costs_the_voter_1(community):
    answer = community.reply("bob", community.post("alice"))
    community.vote("dave", community.post("carol", "article"), +1)  # carol: +5
    community.vote("carol", answer, -1)

    state = community.state("carol")
    assert state.raw == 5 - 1
    assert state.reputation == 1 + 5 - 1


@pytest.mark.parametrize("kind", ["question", "discussion", "article", "media", "review"])
def test_downvote_cast_on_an_opening_post_costs_the_voter_nothing(community, kind):
    target = community.post("alice", kind)
    community.vote("carol", target, -1)

    state = community.state("carol")
    assert state.raw == 0
    assert sum(e.delta for e in state.entries) == 0


def test_withdrawn_upvote_reverses_exactly_what_it_earned(community):
    answer = community.reply("bob", community.post("alice"))
    community.vote("carol", answer, +1)
    community.vote("carol", answer, 0)

    state = community.state("bob")
    assert state.reputation == 1
    assert [e.delta for e in state.entries] == [10, -10]


def test_withdrawn_downvote_reverses_the_cost_to_author_and_voter(community):
    answer = community.reply("bob", community.post("alice"))
    community.vote("dave", community.post("bob", "article"), +1)  # bob: +5
    community.vote("dave", community.post("carol", "article"), +1)  # carol: +5
    community.vote("carol", answer, -1)
    community.vote("carol", answer, 0)

    assert community.state("bob").raw == 5
    assert community.state("carol").raw == 5


def test_changed_vote_from_up_to_down_reverses_the_upvote_and_applies_the_downvote(community):
    answer = community.reply("bob", community.post("alice"))
    community.vote("carol", answer, +1)
    community.vote("carol", answer, -1)

    state = community.state("bob")
    assert state.raw == -2
    assert [e.delta for e in state.entries] == [10, -12]


def test_changed_vote_from_down_to_up(community):
    question = community.post("alice")
    community.vote("carol", question, -1)
    community.vote("carol", question, +1)

    assert community.state("alice").raw == 5


def test_withdrawn_idea_vote_reverses_it(community):
    idea = community.idea("alice")
    community.idea_vote("bob", idea, +1)
    community.idea_vote("bob", idea, 0)

    assert community.state("alice").raw == 0


def test_floor_reputation_never_goes_below_1(community):
    answer = community.reply("newbie", community.post("alice"))
    for n in range(20):
        community.vote(f"voter-{n}", answer, -1)

    state = community.state("newbie")
    assert state.raw == -40
    assert state.reputation == 1


def test_floor_applies_to_the_sum_not_to_each_step(community):
    """Shown = max(1, 1 + sum of all effects): points earned after a deep negative only count
    once they lift the sum above zero again."""
    question = community.post("newbie")
    for n in range(10):
        community.vote(f"down-{n}", question, -1)  # -20
    for n in range(3):
        community.vote(f"up-{n}", question, +1)  # +15

    assert community.state("newbie").reputation == max(1, 1 - 20 + 15) == 1


def test_an_unknown_user_starts_at_1_and_level_0(community):
    state = community.state("nobody")
    assert state.reputation == 1
    assert state.level == 0
    assert state.entries == []
    assert state.badges == {}


def test_casting_an_upvote_does_not_put_a_daily_cap_line_in_the_voters_ledger(community):
    community.vote("carol", community.post("alice"), +1)

    assert "daily-cap" not in [e.reason for e in community.state("carol").entries]
