"""SPEC 4 "order does not matter" and SPEC 6 "exactly-once effect"."""

from __future__ import annotations

import random

import pytest

import schemas
from reputation.domain.facts import facts_of, removal_of
from reputation.domain.fold import fold

USERS = ("alice", "bob", "carol", "dave")


def _busy_history(community):
    """A bit of everything: votes, changed and withdrawn votes, cap, serial voting, accepts,
    unaccepts, ideas, statuses, a removal, two UTC days."""
    question = community.post("alice")
    answers = [community.reply("bob", question) for _ in range(7)]
    article = community.post("carol", "article")
    for answer in answers:
        community.vote("carol", answer, +1)  # 6th and 7th are serial
    for n in range(25):
        community.vote(f"fan-{n}", answers[0], +1)  # bob hits the cap
    community.vote("fan-0", answers[0], 0)
    community.vote("dave", article, +1)
    community.vote("dave", article, -1)
    community.vote("bob", question, -1)
    community.accept(answers[1])
    community.unaccept(answers[1])
    community.accept(answers[2])
    community.delete(answers[3])
    idea = community.idea("dave")
    for n in range(12):
        community.idea_vote(f"fan-{n}", idea, +1, at=community.day(1, 10, n))
    community.move_idea(idea, "planned", at=community.day(1, 11))
    community.move_idea(idea, "completed", at=community.day(1, 12))
    community.vote("alice", article, -1, at=community.day(1, 13))


def _snapshot(state):
    return (state.reputation, state.level, state.entries, state.badges)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_shuffled_arrival_order_gives_identical_state(community, seed):
    _busy_history(community)
    rng = random.Random(seed)
    for user in USERS:
        facts = community.facts(user)
        removals = list(community.removals)
        expected = _snapshot(fold(user, facts, removals))
        rng.shuffle(facts)
        rng.shuffle(removals)

        assert _snapshot(fold(user, facts, removals)) == expected


@pytest.mark.parametrize("user", USERS)
def test_ledger_adds_up_to_the_reputation(community, user):
    _busy_history(community)
    state = community.state(user)

    assert sum(e.delta for e in state.entries) == state.raw
    assert state.reputation == max(1, 1 + state.raw)
    assert [e.at for e in state.entries] == sorted(e.at for e in state.entries)


def test_facts_of_is_deterministic_for_one_envelope(community):
    answer = community.reply("bob", community.post("alice"))
    env = community.vote("carol", answer, +1)

    first, again = facts_of(env), facts_of(env)
    assert first == again
    assert [f.doc_id for f in first] == [f.doc_id for f in again]
    assert sorted(f.doc_id for f in first) == [f"bob:{env.id}", f"carol:{env.id}"]


def test_facts_of_is_deterministic_after_a_wire_round_trip(community):
    answer = community.reply("bob", community.post("alice"))
    env = community.accept(answer)
    redelivered = schemas.parse(env.model_dump_json())

    assert facts_of(redelivered) == facts_of(env)
    assert [f.data for f in facts_of(redelivered)] == [f.data for f in facts_of(env)]


def test_redelivered_event_is_stored_once_and_counted_once(community):
    answer = community.reply("bob", community.post("alice"))
    env = community.vote("carol", answer, +1)
    before = community.state("bob")
    for fact in facts_of(env):  # the same event again
        community.store[fact.doc_id] = fact

    assert len(community.facts("bob")) == 2
    assert _snapshot(community.state("bob")) == _snapshot(before)


def test_removal_of_is_deterministic(community):
    env = community.delete(community.post("alice"))

    assert removal_of(env) == removal_of(env)


def test_a_duplicated_removal_changes_nothing(community):
    question = community.post("alice")
    community.vote("bob", question, +1)
    community.delete(question)
    removals = community.removals * 2

    assert fold("alice", community.facts("alice"), removals).raw == 0


def test_voter_voting_on_own_post_gets_one_fact(community):
    post = community.post("alice")
    env = community.vote("alice", post, +1)

    assert [f.user_id for f in facts_of(env)] == ["alice"]
