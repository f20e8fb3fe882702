"""The shared stream generator: deterministic per seed, valid contract events, realistic shape."""

from __future__ import annotations

import random
from collections import Counter

from schemas import parse, topics
from schemas.streams import community_stream, disorder, reputation_stream, topic_of


def test_same_seed_same_stream_other_seed_another() -> None:
    a, b = community_stream(600, seed=3), community_stream(600, seed=3)
    assert [e.model_dump() for e in a.events] == [e.model_dump() for e in b.events]
    assert [e.id for e in community_stream(600, seed=4).events] != [e.id for e in a.events]


def test_events_are_contract_events_in_time_order_with_unique_ids() -> None:
    s = community_stream(1500, seed=1)
    assert len(s.events) == 1500
    assert len({e.id for e in s.events}) == 1500
    assert [e.time for e in s.events] == sorted(e.time for e in s.events)
    for e in s.events:  # each survives the wire (SPEC 2.1) and lands on its producer's topic
        assert parse(e.to_bytes()).model_dump() == e.model_dump()
        assert topic_of(e) in (topics.FORUM_EVENTS, topics.IDEAS_EVENTS)


def test_votes_are_consistent_and_never_on_own_content() -> None:
    s = reputation_stream(3000, seed=2)
    standing: dict[tuple[str, str], int] = {}
    for e in s.events:
        if e.type.endswith("VoteCast.v1"):
            d = e.data
            assert d.voter_id != d.target_author_id
            assert d.previous_value == standing.get((d.voter_id, d.target_id), 0)
            assert d.value != d.previous_value
            standing[(d.voter_id, d.target_id)] = d.value


def test_activity_is_heavy_tailed_and_varied() -> None:
    s = community_stream(5000, seed=5)
    kinds = Counter(e.type.split(".")[2] for e in s.events)
    for kind in (
        "VoteCast",
        "PostCreated",
        "AnswerAccepted",
        "AnswerUnaccepted",
        "IdeaSubmitted",
        "IdeaStatusChanged",
        "PostHidden",
        "PostDeleted",
    ):
        assert kinds[kind] > 0, kind
    actors = Counter(e.actorid for e in s.events if e.actorid)
    top = actors.most_common(10)
    assert sum(n for _, n in top) > 0.2 * sum(actors.values())  # a few champions
    assert len(actors) > 300  # and a long tail
    withdrawn = sum(1 for e in s.events if e.type.endswith("VoteCast.v1") and e.data.value == 0)
    assert withdrawn > 0


def test_disorder_shuffles_and_duplicates() -> None:
    s = community_stream(400, seed=6)
    out = disorder(s.events, random.Random(1), duplicates=0.25)
    assert len(out) == 500
    assert {e.id for e in out} == {e.id for e in s.events}
    assert [e.id for e in out] != [e.id for e in s.events]
