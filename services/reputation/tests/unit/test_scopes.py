"""Issue 8: the scoped derivation (one fold per author-day, one per profile) gives exactly
the whole fold: the same reputation, the same ledger lines, the same badges."""

from __future__ import annotations

import random

import pytest

from reputation.domain.fold import fold
from reputation.domain.scopes import compose
from schemas import parse
from schemas.streams import reputation_stream

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
    """A realistic stream (``schemas.streams``) of a small community over two months: votes
    changed and withdrawn, accepts and unaccepts, removals and restores, idea statuses."""
    stream = reputation_stream(
        rng.randint(60, 200), seed=rng.randrange(2**31), members=6, days=rng.choice([3, 60])
    )
    community.replay([parse(e.to_bytes()) for e in stream.events])
    return stream.members


def _hot_history(community, rng):
    """Many votes on few authors within two days: cap, serial voting, cross-day changes
    (the same generator, with a few members and a short span)."""
    stream = reputation_stream(450, seed=rng.randrange(2**31), members=14, days=2)
    community.replay([parse(e.to_bytes()) for e in stream.events])
    return stream.members


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
