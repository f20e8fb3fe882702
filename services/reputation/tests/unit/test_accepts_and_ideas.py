"""SPEC 4: accepted answers and idea statuses."""

from __future__ import annotations


def test_accepted_answer_gives_the_answer_author_15(community):
    answer = community.reply("bob", community.post("alice"))
    community.accept(answer)

    state = community.state("bob")
    assert state.raw == 15
    assert [e.delta for e in state.entries] == [15]


def test_accepted_answer_gives_the_question_author_2(community):
    answer = community.reply("bob", community.post("alice"))
    community.accept(answer)

    assert community.state("alice").raw == 2


def test_accepting_your_own_answer_earns_nothing(community):
    answer = community.reply("alice", community.post("alice"))
    community.accept(answer)

    state = community.state("alice")
    assert state.raw == 0
    assert all(e.delta == 0 for e in state.entries)


def test_unaccept_reverses_the_accept_for_both(community):
    answer = community.reply("bob", community.post("alice"))
    community.accept(answer)
    community.unaccept(answer)

    assert community.state("bob").raw == 0
    assert community.state("alice").raw == 0
    assert [e.delta for e in community.state("bob").entries] == [15, -15]


def test_changing_the_accepted_answer_moves_the_15(community):
    question = community.post("alice")
    first = community.reply("bob", question)
    second = community.reply("carol", question)
    community.accept(first)
    community.unaccept(first)
    community.accept(second)

    assert community.state("bob").raw == 0
    assert community.state("carol").raw == 15
    assert community.state("alice").raw == 2


def test_changing_the_accepted_answer_in_one_instant_in_any_id_order(community):
    question = community.post("alice")
    first = community.reply("bob", question)
    second = community.reply("carol", question)
    community.accept(first)
    now = community.day(0, 12)
    community.unaccept(first, at=now, event_id="evt-zzz")  # sorts after the new accept
    community.accept(second, at=now, event_id="evt-aaa")

    assert community.state("bob").raw == 0
    assert community.state("carol").raw == 15
    assert community.state("alice").raw == 2


def test_reaccepting_after_unaccept_earns_again_once(community):
    answer = community.reply("bob", community.post("alice"))
    community.accept(answer)
    community.unaccept(answer)
    community.accept(answer)

    assert community.state("bob").raw == 15
    assert community.state("alice").raw == 2


def test_idea_moved_to_planned_gives_its_author_10(community):
    idea = community.idea("alice")
    community.move_idea(idea, "under_review")
    community.move_idea(idea, "planned")

    assert community.state("alice").raw == 10


def test_idea_moved_to_completed_gives_its_author_25(community):
    idea = community.idea("alice")
    community.move_idea(idea, "planned")
    community.move_idea(idea, "in_progress")
    community.move_idea(idea, "completed")

    assert community.state("alice").raw == 10 + 25


def test_other_idea_statuses_earn_nothing(community):
    idea = community.idea("alice")
    for status in ("under_review", "in_progress", "declined"):
        community.move_idea(idea, status)

    assert community.state("alice").raw == 0


def test_each_idea_status_earns_once(community):
    idea = community.idea("alice")
    community.move_idea(idea, "planned")
    community.move_idea(idea, "under_review")
    community.move_idea(idea, "planned")
    community.move_idea(idea, "completed")
    community.move_idea(idea, "in_progress")
    community.move_idea(idea, "completed")

    assert community.state("alice").raw == 10 + 25


def test_statuses_of_different_ideas_each_earn(community):
    for idea in (community.idea("alice"), community.idea("alice")):
        community.move_idea(idea, "planned")

    assert community.state("alice").raw == 20
