"""The influence index on hand-made graphs (analytics.influence.graph; issue 26 item 5)."""

from __future__ import annotations

from datetime import date, timedelta

from analytics.influence.graph import Fact, Rules, compute, decay, rings

DAY = date(2026, 12, 1)


def accept(asker: str, helper: str, day: date = DAY, post: str | None = None) -> Fact:
    return Fact("accept", asker, helper, day, post)


def vote(voter: str, author: str, day: date = DAY, post: str | None = None) -> Fact:
    return Fact("vote", voter, author, day, post)


def crowd() -> list[Fact]:
    """A small community around the members under test: ten askers who also vote a bit."""
    facts = []
    for n in range(10):
        facts.append(Fact("reply", f"asker{n}", f"asker{(n + 1) % 10}", DAY))
    return facts


def test_answers_accepted_by_many_askers_beat_many_answers_to_one_friend() -> None:
    facts = crowd()
    facts += [accept(f"asker{n}", "expert") for n in range(5)]
    facts += [accept("friend", "buddy", post=f"p{n}") for n in range(15)]  # 15 x one friend
    facts += [Fact("reply", "friend", "buddy", DAY) for _ in range(15)]
    idx = compute(facts, as_of=DAY)
    expert, buddy = idx.members["expert"], idx.members["buddy"]
    assert expert.score > buddy.score
    assert idx.ranking[0] == "expert"
    assert expert.helped_count == 5 and buddy.helped_count == 1
    assert buddy.counted == {
        "accept": {"count": 15, "weight": 45.0},
        "reply": {"count": 15, "weight": 7.5},
    }


def test_a_reciprocal_vote_ring_gains_nothing() -> None:
    honest = [*crowd(), accept("asker1", "ann"), accept("asker2", "bob"), vote("asker3", "ann")]
    ring = [vote("ann", "bob", post=f"b{n}") for n in range(8)]
    ring += [vote("bob", "ann", post=f"a{n}") for n in range(8)]
    without = compute(honest, as_of=DAY)
    with_ring = compute(honest + ring, as_of=DAY)
    assert rings(honest + ring, Rules()) == {frozenset({"ann", "bob"})}
    for who in ("ann", "bob", "asker1", "asker5"):
        assert with_ring.members[who].score == without.members[who].score, who
    assert with_ring.members["ann"].excluded == {"ring": 8}
    assert with_ring.members["ann"].ring_partners == ["bob"]
    assert with_ring.excluded["ring"] == 16


def test_mutual_votes_among_wide_voting_are_no_ring() -> None:
    """ann and bob vote each other 3 times, but each votes for 6 others too: far from
    half of their votes, so their votes count."""
    facts = crowd()
    for voter, other in (("ann", "bob"), ("bob", "ann")):
        facts += [vote(voter, other, post=f"{voter}{n}") for n in range(3)]
        facts += [vote(voter, f"asker{n}") for n in range(6)]
    assert rings(facts, Rules()) == set()
    idx = compute(facts, as_of=DAY)
    assert idx.members["ann"].counted["vote"]["count"] == 3
    assert idx.excluded["ring"] == 0


def test_a_one_way_fan_is_no_ring() -> None:
    facts = crowd() + [vote("fan", "idol", post=f"p{n}") for n in range(10)]
    assert rings(facts, Rules()) == set()


def test_ties_at_the_top_only_for_a_really_symmetric_graph() -> None:
    # a ring of helpers in which everyone is in the same position: all tie
    sym = [accept(f"m{n}", f"m{(n + 1) % 6}") for n in range(6)]
    sym += [accept(f"m{n}", f"m{(n + 3) % 6}") for n in range(6)]
    idx = compute(sym, as_of=DAY)
    assert len({m.score for m in idx.members.values()}) == 1
    assert len({m.influence for m in idx.members.values()}) == 1
    # break the symmetry with one reply: no more ties at the top
    idx2 = compute([*sym, Fact("reply", "m0", "m1", DAY)], as_of=DAY)
    top = [idx2.members[u].score for u in idx2.ranking[:3]]
    assert len(set(top)) == 3


def test_percentiles_tie_only_where_scores_are_equal() -> None:
    facts = crowd() + [accept(f"asker{n}", f"h{n % 3}") for n in range(10)]
    idx = compute(facts, as_of=DAY)
    by_score: dict[float, set[float]] = {}
    for m in idx.members.values():
        by_score.setdefault(m.score, set()).add(m.influence)
    assert all(len(p) == 1 for p in by_score.values())
    assert len({next(iter(p)) for p in by_score.values()}) == len(by_score)
    assert idx.members[idx.ranking[0]].influence == 100.0
    assert idx.members[idx.ranking[-1]].influence == 0.0
    assert idx.members[idx.ranking[1]].influence < 100.0


def test_help_halves_every_90_days() -> None:
    assert decay(DAY - timedelta(days=90), DAY, 90) == 0.5
    assert decay(DAY - timedelta(days=180), DAY, 90) == 0.25
    assert decay(DAY + timedelta(days=3), DAY, 90) == 1.0  # a later day never weighs more
    old, new = DAY - timedelta(days=180), DAY
    facts = [*crowd(), accept("asker1", "past", old), accept("asker2", "present", new)]
    idx = compute(facts, as_of=DAY)
    assert idx.members["present"].score > idx.members["past"].score
    assert idx.members["past"].counted["accept"]["weight"] == 0.75


def test_self_staff_and_removed_posts_do_not_count() -> None:
    facts = [
        *crowd(),
        accept("asker1", "ann", post="a1"),
        accept("ann", "ann", post="self"),  # accepting your own answer
        accept("asker2", "ann", post="gone"),  # a removed answer
        Fact("reply", "asker3", "ann", DAY, "r9", "T-gone"),  # in a removed question
        accept("asker4", "sam", post="s1"),  # sam is support
        vote("sam", "ann", post="a1"),  # and his vote gives nothing either
    ]
    idx = compute(facts, as_of=DAY, staff={"sam"}, gone_posts={"gone"}, gone_threads={"T-gone"})
    assert "sam" not in idx.ranking
    assert idx.members["ann"].counted == {"accept": {"count": 1, "weight": 3.0}}
    assert idx.members["ann"].excluded == {"self": 1, "removed": 2, "staff": 1}
    assert idx.members["sam"].excluded == {"staff": 1} and idx.members["sam"].score == 0.0


def test_explanation_shows_who_the_score_came_through() -> None:
    facts = [*crowd(), accept("asker1", "ann"), vote("asker2", "ann"), vote("asker2", "ann")]
    idx = compute(facts, as_of=DAY)
    ann = idx.members["ann"]
    assert [h["user_id"] for h in ann.helped] == ["asker1", "asker2"]
    assert ann.helped[1]["kinds"] == {"vote": 2}
    # what came through the members helped is part of the score, the rest is the teleport
    # and the dangling members' share
    shares = [float(str(h["contribution"])) for h in ann.helped]
    assert 0 < shares[1] < sum(shares) < ann.score


def test_same_facts_in_any_order_give_the_same_index() -> None:
    facts = crowd() + [accept(f"asker{n}", f"h{n % 3}") for n in range(10)]
    a = compute(facts, as_of=DAY)
    b = compute(list(reversed(facts)), as_of=DAY)
    assert [(u, a.members[u].score) for u in a.ranking] == [
        (u, b.members[u].score) for u in b.ranking
    ]


def test_empty_graph() -> None:
    idx = compute([], as_of=DAY)
    assert idx.ranking == [] and idx.members == {}
