"""SPEC 4 version 2 (issues 23 and 24): the ``attendee`` and ``host`` badges from gathering
check-ins, and +5 to a media item's author for a "helpful" vote, undone when withdrawn.

Each story also runs through the production projection, shuffled and partly redelivered
(the ``community`` fixture), which must give every member exactly the fold."""

from __future__ import annotations

from reputation.domain import rules


def test_thresholds():
    assert rules.ATTENDEE_GATHERINGS == 3
    assert rules.HOST_CHECKINS == 10
    assert rules.GATHERING_BADGES == ("attendee", "host")


def test_attendee_at_the_third_distinct_gathering(community):
    community.checkin("ann", "g1", "hal")
    community.checkin("ann", "g1", "hal")  # twice at one gathering: still one
    community.checkin("ann", "g2", "hal")
    assert "attendee" not in community.state("ann").badges
    third = community.checkin("ann", "g3", "hal")
    community.checkin("ann", "g4", "hal")

    assert community.state("ann").badges["attendee"] == third.id


def test_attendee_is_the_third_gathering_in_time_whatever_the_arrival(community):
    late = community.checkin("ann", "g3", "hal", at=community.day(3))
    community.checkin("ann", "g1", "hal", at=community.day(1))
    third = community.checkin("ann", "g2", "hal", at=community.day(2))
    community.checkin("ann", "g1", "hal", at=community.day(4))

    assert community.state("ann").badges["attendee"] == late.id
    assert third.id != late.id


def test_host_at_the_tenth_member_checked_in(community):
    for n in range(9):
        community.checkin(f"m{n}", "g1", "hal")
    community.checkin("m0", "g1", "hal")  # a member twice counts once
    community.checkin("hal", "g1", "hal")  # the host's own check-in does not count
    assert "host" not in community.state("hal").badges
    tenth = community.checkin("m9", "g1", "hal")

    state = community.state("hal")
    assert state.badges["host"] == tenth.id
    assert state.raw == 0  # a badge, no points


def test_host_needs_ten_at_one_gathering_not_across_gatherings(community):
    for n in range(6):
        community.checkin(f"m{n}", "g1", "hal")
        community.checkin(f"m{n}", "g2", "hal")

    assert "host" not in community.state("hal").badges


def test_checking_in_at_your_own_gathering_counts_for_attendee(community):
    community.checkin("hal", "g1", "hal")
    community.checkin("hal", "g2", "hal")
    third = community.checkin("hal", "g3", "hal")

    assert community.state("hal").badges == {"attendee": third.id}


def test_helpful_vote_on_a_media_item_earns_its_author_5(community):
    item = community.media_item("bob")
    vote = community.helpful("carol", item)

    state = community.state("bob")
    assert state.raw == rules.POINTS["upvote.post"] == 5
    assert [(e.delta, e.reason, e.source_event_id) for e in state.entries] == [
        (5, "upvote-media", vote.id)
    ]
    assert community.state("carol").raw == 0


def test_withdrawn_helpful_vote_takes_back_exactly_what_it_gave(community):
    item = community.media_item("bob")
    community.helpful("carol", item)
    withdrawal = community.helpful("carol", item, 0)

    state = community.state("bob")
    assert state.raw == 0
    assert (state.entries[-1].delta, state.entries[-1].reason) == (-5, "vote-withdrawn")
    assert state.entries[-1].source_event_id == withdrawal.id


def test_a_withdrawal_stamped_before_the_vote_does_not_undo_it(community):
    item = community.media_item("bob")
    community.helpful("carol", item, 1, at=community.day(0, 12))
    community.helpful("carol", item, 0, at=community.day(0, 11))  # older: the vote stands

    assert community.state("bob").raw == 5


def test_hidden_media_item_loses_its_points_and_a_restore_gives_them_back(community):
    item = community.media_item("bob")
    community.helpful("carol", item)
    community.helpful("dan", item)
    community.hide_media(item)
    assert community.state("bob").raw == 0
    community.restore_media(item)

    assert community.state("bob").raw == 10


def test_helpful_votes_share_the_daily_cap_with_post_upvotes(community):
    answer = community.reply("bob", community.post("asker"))
    for n in range(20):
        community.vote(f"voter-{n}", answer, +1)  # 200: the cap
    item = community.media_item("bob")
    capped = community.helpful("carol", item)

    state = community.state("bob")
    assert state.raw == rules.DAILY_UPVOTE_CAP
    assert (state.entries[-1].delta, state.entries[-1].reason) == (0, "daily-cap")
    assert state.entries[-1].source_event_id == capped.id
