"""SPEC 4 daily cap: up-vote points of standing votes per user and UTC day count up to 200."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from reputation.domain import rules


def _upvotes_on_replies(community, author, count, *, at_day=0):
    """``count`` up-votes from ``count`` different voters (no serial voting) on one reply."""
    answer = community.reply(author, community.post("asker", at=community.day(at_day, 8)))
    envs = [
        community.vote(f"voter-{n}", answer, +1, at=community.day(at_day, 10, n % 60))
        for n in range(count)
    ]
    return answer, envs


def test_cap_is_200():
    assert rules.DAILY_UPVOTE_CAP == 200


def test_upvotes_below_the_cap_all_count(community):
    _upvotes_on_replies(community, "bob", 20)  # 200 exactly

    assert community.state("bob").raw == 200


def test_upvotes_crossing_the_cap_stop_at_200(community):
    _upvotes_on_replies(community, "bob", 21)  # 210 raw

    state = community.state("bob")
    assert state.raw == 200
    assert state.reputation == 201
    assert state.entries[-1].delta == 0


def test_vote_crossing_the_cap_earns_only_the_rest(community):
    question = community.post("bob")
    answer = community.reply("bob", community.post("asker"))
    for n in range(19):
        community.vote(f"voter-{n}", answer, +1)  # 190
    community.vote("voter-x", question, +1)  # 195
    community.vote("voter-y", answer, +1)  # 205 → 200: this vote earns 5

    state = community.state("bob")
    assert state.raw == 200
    assert [e.delta for e in state.entries[-2:]] == [5, 5]


def test_upvotes_on_a_different_utc_day_count_separately(community):
    _upvotes_on_replies(community, "bob", 25, at_day=0)  # 250 → 200
    _upvotes_on_replies(community, "bob", 25, at_day=1)  # 250 → 200

    assert community.state("bob").raw == 400


def test_utc_day_boundary_splits_the_cap(community):
    answer = community.reply("bob", community.post("asker", at=community.day(0, 8)))
    for n in range(20):
        community.vote(f"late-{n}", answer, +1, at=community.day(0, 23, 40 + n))  # day 0: 200
    for n in range(5):
        community.vote(f"early-{n}", answer, +1, at=community.day(1, 0, n))  # day 1: 50

    assert community.state("bob").raw == 250


def test_withdrawal_after_the_cap_never_takes_back_more_than_it_gave(community):
    answer, _ = _upvotes_on_replies(community, "bob", 45)  # 450 raw → 200
    community.vote("voter-0", answer, 0, at=community.day(0, 18))  # 440 standing → still 200

    state = community.state("bob")
    assert state.raw == 200
    assert state.entries[-1].delta == 0


def test_changed_vote_after_the_cap_only_adds_the_downvote(community):
    answer, _ = _upvotes_on_replies(community, "bob", 45)  # 450 raw → 200
    community.vote("voter-0", answer, -1, at=community.day(0, 18))  # 440 → 200, then -2

    state = community.state("bob")
    assert state.raw == 198
    assert state.entries[-1].delta == -2


def test_withdrawals_below_the_cap_take_back_their_points(community):
    answer, _ = _upvotes_on_replies(community, "bob", 25)  # 250 → 200
    for n in range(10):  # 150 standing
        community.vote(f"voter-{n}", answer, 0, at=community.day(0, 18, n))

    assert community.state("bob").raw == 150


def test_withdrawal_on_a_later_day_counts_against_the_day_the_vote_was_cast(community):
    answer, _ = _upvotes_on_replies(community, "bob", 25, at_day=0)  # day 0: 200
    community.vote("voter-0", answer, 0, at=community.day(1))  # day 0 standing: 240 → 200

    assert community.state("bob").raw == 200


def test_downvotes_are_not_capped(community):
    _upvotes_on_replies(community, "bob", 25)  # 200
    question = community.post("bob", at=community.day(0, 12))
    for n in range(3):
        community.vote(f"critic-{n}", question, -1, at=community.day(0, 13, n))

    assert community.state("bob").raw == 200 - 6


def test_accepted_answers_are_not_capped(community):
    answer, _ = _upvotes_on_replies(community, "bob", 25)  # 200
    community.accept(answer, at=community.day(0, 20))

    assert community.state("bob").raw == 200 + 15


def test_idea_statuses_are_not_capped(community):
    _upvotes_on_replies(community, "bob", 25)  # 200
    idea = community.idea("bob", at=community.day(0, 12))
    community.move_idea(idea, "planned", at=community.day(0, 13))
    community.move_idea(idea, "completed", at=community.day(0, 14))

    assert community.state("bob").raw == 200 + 10 + 25


def test_idea_upvotes_share_the_daily_cap_with_post_upvotes(community):
    _upvotes_on_replies(community, "bob", 19)  # 190
    idea = community.idea("bob", at=community.day(0, 12))
    for n in range(4):
        community.idea_vote(f"fan-{n}", idea, +1, at=community.day(0, 13, n))  # +20 raw

    assert community.state("bob").raw == 200


def test_the_day_is_the_utc_day_whatever_offset_the_event_time_carries(community):
    answer, _ = _upvotes_on_replies(community, "bob", 20, at_day=0)  # 2 March UTC: 200
    new_york = timezone(timedelta(hours=-5))
    for n in range(5):  # 2 March 20:00 in New York is 3 March 01:00 UTC
        community.vote(f"late-{n}", answer, +1, at=datetime(2026, 3, 2, 20, n, tzinfo=new_york))

    state = community.state("bob")
    assert state.raw == 250
    assert state.entries[-1].at.tzinfo is not None
    assert state.entries[-1].at.astimezone(UTC).day == 3
