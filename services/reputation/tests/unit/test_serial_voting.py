"""SPEC 4 serial voting: of one voter's votes on one author's content in one UTC day, only the
first five (by time, then id) count; the rest are in the ledger as ``serial-voting`` with 0."""

from __future__ import annotations

from reputation.domain import rules


def _posts(community, author, count, kind="question"):
    return [community.post(author, kind) for _ in range(count)]


def test_five_votes_count():
    assert rules.SERIAL_VOTES_COUNTED == 5


def test_first_five_votes_of_one_voter_on_one_author_count(community):
    for post in _posts(community, "bob", 5):
        community.vote("carol", post, +1)

    assert community.state("bob").raw == 25


def test_sixth_vote_of_one_voter_on_one_author_earns_nothing(community):
    posts = _posts(community, "bob", 7)
    envs = [community.vote("carol", post, +1) for post in posts]

    state = community.state("bob")
    assert state.raw == 25
    serial = [e for e in state.entries if e.reason == "serial-voting"]
    assert [(e.delta, e.source_event_id) for e in serial] == [(0, envs[5].id), (0, envs[6].id)]


def test_serial_votes_are_ranked_by_time_not_by_arrival(community):
    posts = _posts(community, "bob", 6)
    # cast in reverse time order: the vote on posts[0] is the latest, so it is the sixth
    envs = [
        community.vote("carol", post, +1, at=community.day(0, 12, 59 - n))
        for n, post in enumerate(posts)
    ]

    serial = [e for e in community.state("bob").entries if e.reason == "serial-voting"]
    assert [e.source_event_id for e in serial] == [envs[0].id]


def test_serial_downvotes_cost_nothing_to_author_or_voter(community):
    question = community.post("asker")
    replies = [community.reply("bob", question) for _ in range(7)]
    community.vote("dave", community.post("carol", "article"), +1)  # carol: +5
    community.vote("erin", community.post("bob", "article"), +1)  # bob: +5
    for reply in replies:
        community.vote("carol", reply, -1)

    assert community.state("bob").raw == 5 - 5 * 2
    voter = community.state("carol")
    assert voter.raw == 5 - 5 * 1
    assert [e.reason for e in voter.entries].count("serial-voting") == 2


def test_serial_voting_counts_again_the_next_utc_day(community):
    posts = _posts(community, "bob", 12)
    for n, post in enumerate(posts[:6]):
        community.vote("carol", post, +1, at=community.day(0, 22, n))
    for n, post in enumerate(posts[6:]):
        community.vote("carol", post, +1, at=community.day(1, 1, n))

    state = community.state("bob")
    assert state.raw == 10 * 5
    assert [e.reason for e in state.entries].count("serial-voting") == 2


def test_different_voters_are_independent(community):
    posts = _posts(community, "bob", 6)
    for voter in ("carol", "dave"):
        for post in posts[:5]:
            community.vote(voter, post, +1)

    state = community.state("bob")
    assert state.raw == 10 * 5
    assert "serial-voting" not in [e.reason for e in state.entries]


def test_different_authors_are_independent(community):
    bobs = _posts(community, "bob", 5)
    erins = _posts(community, "erin", 5)
    for post in bobs + erins:
        community.vote("carol", post, +1)

    assert community.state("bob").raw == 25
    assert community.state("erin").raw == 25


def test_ideas_and_posts_of_one_author_share_the_five(community):
    posts = _posts(community, "bob", 5)
    idea = community.idea("bob")
    for post in posts:
        community.vote("carol", post, +1)
    community.idea_vote("carol", idea, +1)

    state = community.state("bob")
    assert state.raw == 25
    assert state.entries[-1].reason == "serial-voting"
    assert state.entries[-1].delta == 0


def test_changing_a_counted_vote_is_not_a_new_serial_vote(community):
    posts = _posts(community, "bob", 5)
    for post in posts:
        community.vote("carol", post, +1)
    community.vote("carol", posts[0], -1)

    assert community.state("bob").raw == 4 * 5 - 2


def test_serial_votes_at_the_same_time_are_ranked_by_event_id(community):
    posts = _posts(community, "bob", 6)
    same_time = community.day(0, 12)
    ids = ["evt-f", "evt-e", "evt-d", "evt-c", "evt-b", "evt-a"]  # arrive highest id first
    for post, event_id in zip(posts, ids, strict=True):
        community.vote("carol", post, +1, at=same_time, event_id=event_id)

    serial = [e for e in community.state("bob").entries if e.reason == "serial-voting"]
    assert [e.source_event_id for e in serial] == ["evt-f"]
