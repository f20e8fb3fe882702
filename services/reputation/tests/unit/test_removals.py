"""SPEC 4: deleting or hiding a post removes every point that post earned its author and
its voters."""

from __future__ import annotations

import pytest

from reputation.domain.fold import fold


@pytest.fixture(params=["delete", "hide"])
def remove(request, community):
    return getattr(community, request.param)


def test_removal_takes_back_the_upvotes_of_the_post(community, remove):
    answer = community.reply("bob", community.post("alice"))
    community.vote("carol", answer, +1)
    community.vote("dave", answer, +1)
    remove(answer)

    state = community.state("bob")
    assert state.raw == 0
    assert state.entries[-1].delta == -20
    assert state.entries[-1].reason == "post-removed"


def test_removal_takes_back_the_downvotes_of_the_post(community, remove):
    answer = community.reply("bob", community.post("alice"))
    community.vote("dave", community.post("bob", "article"), +1)  # +5, away from the floor
    community.vote("carol", answer, -1)
    remove(answer)

    assert community.state("bob").raw == 5


def test_removal_gives_back_the_voters_cost_of_downvoting_a_reply(community, remove):
    answer = community.reply("bob", community.post("alice"))
    community.vote("dave", community.post("carol", "article"), +1)  # carol: +5
    community.vote("carol", answer, -1)
    remove(answer)

    assert community.state("carol").raw == 5


def test_removal_takes_back_the_accept_of_the_answer(community, remove):
    answer = community.reply("bob", community.post("alice"))
    community.accept(answer)
    remove(answer)

    assert community.state("bob").raw == 0
    assert community.state("alice").raw == 0


def test_removal_only_touches_that_post(community, remove):
    question = community.post("bob")
    other = community.post("bob", "article")
    community.vote("carol", question, +1)
    community.vote("carol", other, +1)
    remove(question)

    assert community.state("bob").raw == 5


def test_removal_frees_the_daily_cap_for_the_other_votes_of_that_day(community, remove):
    answer = community.reply("bob", community.post("alice"))
    other = community.reply("bob", community.post("alice"))
    for n in range(20):
        community.vote(f"v{n}", answer, +1)  # 200
    for n in range(5):
        community.vote(f"w{n}", other, +1)  # 250 → 200
    remove(answer)

    assert community.state("bob").raw == 50


def test_removal_arriving_before_the_votes_still_removes_them(community):
    """Arrival order does not matter: the store holds the facts, fold sorts by time."""
    answer = community.reply("bob", community.post("alice"))
    community.vote("carol", answer, +1)
    community.delete(answer)

    facts = community.facts("bob")
    facts.reverse()
    assert fold("bob", facts, list(reversed(community.removals))).raw == 0
