"""SPEC 4 badges, each awarded once."""

from __future__ import annotations

from reputation.domain import rules


def test_the_badges_of_the_spec():
    assert set(rules.BADGES) == {
        "first-question",
        "first-answer",
        "helpful",
        "problem-solver",
        "popular-idea",
        "visionary",
        "reviewer",
        "champion",
    }


def _badge_event(community, user, badge):
    return community.state(user).badges.get(badge)


def test_first_question(community):
    community.post("alice", "discussion")
    assert "first-question" not in community.state("alice").badges

    first = community.post("alice", "question")
    community.post("alice", "question")

    assert _badge_event(community, "alice", "first-question") == _event_of_post(community, first)


def _event_of_post(community, post):
    return next(e.id for e in community.envelopes if getattr(e.data, "post_id", None) == post)


def test_first_answer(community):
    question = community.post("alice")
    first = community.reply("bob", question)
    community.reply("bob", question)

    assert _badge_event(community, "bob", "first-answer") == _event_of_post(community, first)
    assert "first-answer" not in community.state("alice").badges


def test_helpful_for_the_first_accepted_answer(community):
    question = community.post("alice")
    answer = community.reply("bob", question)
    assert "helpful" not in community.state("bob").badges

    env = community.accept(answer)
    community.accept(community.reply("bob", community.post("carol")))

    assert _badge_event(community, "bob", "helpful") == env.id
    assert "helpful" not in community.state("alice").badges


def test_problem_solver_after_10_accepted_answers(community):
    envs = []
    for _ in range(10):
        envs.append(community.accept(community.reply("bob", community.post("alice"))))
        if len(envs) == 9:
            assert "problem-solver" not in community.state("bob").badges

    assert _badge_event(community, "bob", "problem-solver") == envs[9].id


def test_problem_solver_counts_accepted_answers_not_accept_events(community):
    answer = community.reply("bob", community.post("alice"))
    for _ in range(10):
        community.accept(answer)
        community.unaccept(answer)

    assert "problem-solver" not in community.state("bob").badges


def test_popular_idea_at_10_votes(community):
    idea = community.idea("alice")
    envs = [community.idea_vote(f"fan-{n}", idea, +1) for n in range(9)]
    assert "popular-idea" not in community.state("alice").badges

    envs.append(community.idea_vote("fan-9", idea, +1))

    assert _badge_event(community, "alice", "popular-idea") == envs[9].id


def test_popular_idea_needs_10_votes_standing_at_once(community):
    idea = community.idea("alice")
    for n in range(9):
        community.idea_vote(f"fan-{n}", idea, +1)
    community.idea_vote("fan-0", idea, 0)
    community.idea_vote("fan-0", idea, +1)  # still 9 voters

    assert "popular-idea" not in community.state("alice").badges


def test_popular_idea_is_per_idea(community):
    first, second = community.idea("alice"), community.idea("alice")
    for n in range(5):
        community.idea_vote(f"fan-{n}", first, +1)
        community.idea_vote(f"fan-{n}", second, +1)

    assert "popular-idea" not in community.state("alice").badges


def test_visionary_when_an_idea_is_completed(community):
    idea = community.idea("alice")
    community.move_idea(idea, "planned")
    assert "visionary" not in community.state("alice").badges

    env = community.move_idea(idea, "completed")

    assert _badge_event(community, "alice", "visionary") == env.id


def test_reviewer_after_5_reviews(community):
    reviews = [community.post("alice", "review") for _ in range(4)]
    assert "reviewer" not in community.state("alice").badges

    reviews.append(community.post("alice", "review"))
    community.post("alice", "review")

    assert _badge_event(community, "alice", "reviewer") == _event_of_post(community, reviews[4])


def test_champion_with_4_of_5_activity_kinds_within_30_days(community):
    community.post("alice", "question", at=community.day(0))  # asked
    community.reply("alice", community.post("bob", at=community.day(1)), at=community.day(5))
    community.vote("alice", community.post("bob", at=community.day(6)), +1, at=community.day(10))
    assert "champion" not in community.state("alice").badges

    env_time = community.day(20)
    community.post("alice", "article", at=env_time)  # wrote

    assert community.state("alice").badges.get("champion") == community.envelopes[-1].id


def test_champion_by_ideas_and_reviews(community):
    community.idea("alice", at=community.day(0))  # ideas
    community.post("alice", "review", at=community.day(1))  # wrote
    community.post("alice", "question", at=community.day(2))  # asked
    community.idea_vote("alice", community.idea("bob", at=community.day(3)), at=community.day(4))
    assert "champion" not in community.state("alice").badges

    community.reply("alice", community.post("bob", at=community.day(5)), at=community.day(6))

    assert "champion" in community.state("alice").badges


def test_no_champion_when_the_activities_spread_over_more_than_30_days(community):
    community.post("alice", "question", at=community.day(0))  # asked
    community.reply("alice", community.post("bob", at=community.day(1)), at=community.day(10))
    community.vote("alice", community.post("bob", at=community.day(11)), +1, at=community.day(20))
    community.post("alice", "article", at=community.day(40))  # wrote; "asked" is 40 days old

    assert "champion" not in community.state("alice").badges


def test_champion_counts_each_kind_once(community):
    for n in range(5):
        community.post("alice", "question", at=community.day(n))
        community.post("alice", "article", at=community.day(n, 10))
    community.reply("alice", community.post("bob"), at=community.day(6))

    assert "champion" not in community.state("alice").badges


def test_each_badge_is_awarded_once(community):
    """Earn every badge twice over; each is in the state once, from its first event."""
    for _ in range(2):
        community.post("alice", "question")
        community.reply("alice", community.post("bob"))
        for _ in range(10):
            community.accept(community.reply("alice", community.post("bob")))
        idea = community.idea("alice")
        for n in range(10):
            community.idea_vote(f"fan-{n}", idea, +1)
        community.move_idea(idea, "planned")
        community.move_idea(idea, "completed")
        for _ in range(5):
            community.post("alice", "review")
        community.vote("alice", community.post("bob"), +1)

    state = community.state("alice")
    assert set(state.badges) == set(rules.BADGES)
    first_half = {e.id for e in community.envelopes[: len(community.envelopes) // 2]}
    assert all(event_id in first_half for event_id in state.badges.values())
