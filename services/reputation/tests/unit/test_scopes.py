"""Issue 8: the scoped derivation (one fold per author-day, one per profile) gives exactly
the whole fold: the same reputation, the same ledger lines, the same badges."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from reputation.domain.fold import fold
from reputation.domain.scopes import compose

from .test_order_and_duplicates import USERS, _busy_history


def _same(community, user):
    facts, removals = community.facts(user), list(community.removals)
    whole = fold(user, facts, removals)
    scoped = compose(user, facts, removals)
    assert scoped.raw == whole.raw
    assert scoped.entries == whole.entries
    assert scoped.badges == whole.badges


@pytest.mark.parametrize("user", USERS)
def test_busy_history_scoped_equals_whole(community, user):
    _busy_history(community)
    _same(community, user)


def _random_history(community, rng):
    users = [f"u{n}" for n in range(6)]
    posts, ideas, hidden = [], [], []
    for _ in range(rng.randint(60, 160)):
        community.clock += timedelta(minutes=rng.choice([1, 7, 90, 600, 1440 * 3, 1440 * 20]))
        at = community.clock
        roll = rng.random()
        who = rng.choice(users)
        if roll < 0.12 or not posts:
            posts.append(community.post(who, rng.choice(["question", "article", "review"]), at=at))
        elif roll < 0.25:
            posts.append(community.reply(who, rng.choice(posts), at=at))
        elif roll < 0.70:
            post = rng.choice(posts)
            if community.author_of(post) != who:
                community.vote(who, post, rng.choice([1, 1, 1, -1, 0]), at=at)
        elif roll < 0.78:
            answers = [p for p in posts if community._posts[p][1] == "reply"]
            if answers:
                a = rng.choice(answers)
                (community.accept if rng.random() < 0.7 else community.unaccept)(a, at=at)
        elif roll < 0.82:
            post = rng.choice(posts)
            if post in hidden and rng.random() < 0.5:
                community.restore(post, at=at)  # a moderator gives a hidden post back
                hidden.remove(post)
            elif rng.random() < 0.5:
                community.delete(post, at=at)
            else:
                community.hide(post, at=at)
                hidden.append(post)
        elif roll < 0.88:
            ideas.append(community.idea(who, at=at))
        elif roll < 0.96 and ideas:
            idea = rng.choice(ideas)
            if community.author_of(idea) != who:
                community.idea_vote(who, idea, rng.choice([1, 1, 0]), at=at)
        elif ideas:
            status = rng.choice(["planned", "completed", "under_review", "declined"])
            community.move_idea(rng.choice(ideas), status, at=at)
    return users


def _hot_history(community, rng):
    """Many votes on few authors within two days: cap, serial voting, cross-day changes."""
    authors = ["a0", "a1"]
    posts = [community.post(a, rng.choice(["question", "reply", "article"])) for a in authors * 8]
    posts += [community.reply(rng.choice(authors), posts[0]) for _ in range(6)]
    voters = [f"v{n}" for n in range(12)]
    for _ in range(400):
        at = community.day(rng.randint(0, 2), rng.randint(0, 23), rng.randint(0, 59))
        voter, post = rng.choice(voters), rng.choice(posts)
        community.vote(voter, post, rng.choice([1, 1, -1, 0]), at=at)
    for post in rng.sample(posts, 3):
        community.delete(post, at=community.day(rng.randint(0, 3), 12))
    return authors + voters


@pytest.mark.parametrize("seed", range(12))
def test_random_history_scoped_equals_whole(community, seed):
    for user in _random_history(community, random.Random(seed)):
        _same(community, user)


@pytest.mark.parametrize("seed", range(6))
def test_hot_days_scoped_equals_whole(community, seed):
    for user in _hot_history(community, random.Random(100 + seed)):
        _same(community, user)


def test_champion_window_starting_mid_day_uses_the_days_last_activity(community):
    """Only the first and last activity of a day are kept: the last one decides a window
    that starts in the middle of that day."""
    bob = [community.post("bob", at=community.day(0, 1)) for _ in range(2)]
    community.vote("alice", bob[0], +1, at=community.day(0, 8))
    community.vote("alice", bob[1], +1, at=community.day(0, 23))
    community.post("alice", "question", at=community.day(30, 10))
    community.reply("alice", bob[0], at=community.day(30, 11))
    community.post("alice", "article", at=community.day(30, 12))

    assert "champion" in fold("alice", community.facts("alice"), community.removals).badges
    _same(community, "alice")
