"""The Idea aggregate: votes, the status state machine, merges, comments (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import product

import pytest
from pydantic import ValidationError

from communitykit.problems import ConflictError
from ideas.domain import workflow
from ideas.domain.commands import CastVote, ChangeStatus, MergeIdeas, SubmitIdea
from ideas.domain.errors import (
    IdeaMergedError,
    IllegalTransitionError,
    MergeConflictError,
    NotAllowedError,
)
from ideas.domain.model import (
    Idea,
    check_merge,
    day_key,
    expired_days,
    merge_event_id,
    plan_merge,
    require_staff,
    voter_key,
    voter_of,
    window_start,
)
from schemas.ideas import (
    IdeaCommented,
    IdeasMerged,
    IdeaStatusChanged,
    IdeaSubmitted,
    IdeaVoteCast,
)

T0 = datetime(2026, 11, 23, 10, 0, 0, 123456, tzinfo=UTC)


def submit(author: str = "alice", idea_id: str | None = None) -> Idea:
    cmd = SubmitIdea(title=" Dark mode ", description="Please", category="UI", product_area="App")
    idea, _ = Idea.submit(cmd, author, T0, idea_id)
    return idea


def test_submit_emits_idea_submitted_with_the_description() -> None:
    cmd = SubmitIdea(title=" Dark mode ", description="Please", category="UI", product_area="App")
    idea, events = Idea.submit(cmd, "alice", T0, "i1")
    (e,) = events
    assert isinstance(e.data, IdeaSubmitted)
    assert (e.subject, e.partitionkey, e.actorid) == ("i1", "i1", "alice")
    assert e.data.description == "Please" and e.data.title == "Dark mode"
    assert (idea.category, idea.product_area, idea.status, idea.votes) == ("ui", "app", "new", 0)
    assert idea.created_at.microsecond == 123000  # what MongoDB stores


@pytest.mark.parametrize(
    "extra", [{"votes": 5}, {"status": "planned"}, {"author_id": "x"}, {"idea_id": "x"}]
)
def test_mass_assignment_is_rejected(extra: dict[str, object]) -> None:
    body = {"title": "t", "description": "d", "category": "c", "product_area": "p", **extra}
    with pytest.raises(ValidationError):
        SubmitIdea.model_validate(body)


def test_commands_validate() -> None:
    for bad in ({"value": -1}, {"value": 2}, {"value": "1"}, {}):
        with pytest.raises(ValidationError):
            CastVote.model_validate(bad)
    with pytest.raises(ValidationError):
        ChangeStatus.model_validate({"status": "shipped"})
    with pytest.raises(ValidationError):
        MergeIdeas.model_validate({"into_idea_id": "  "})
    with pytest.raises(ValidationError):
        SubmitIdea.model_validate(
            {"title": "   ", "description": "d", "category": "c", "product_area": "p"}
        )
    assert (
        SubmitIdea(title='{"$gt": ""}', description="d", category="c", product_area="p").title
        == '{"$gt": ""}'
    )


def test_voter_keys_are_safe_document_keys() -> None:
    for user in ("alice", "a.b", "$where", "ünï côdé", "x" * 100):
        k = voter_key(user)
        assert "." not in k and not k.startswith("$") and voter_of(k) == user


def test_vote_withdraw_and_idempotence() -> None:
    idea = submit()
    (up,) = idea.vote("bob", 1, T0)
    assert isinstance(up.data, IdeaVoteCast)
    assert (up.data.value, up.data.previous_value, up.data.voter_id) == (1, 0, "bob")
    assert (idea.votes, idea.recent_votes, idea.vote_days) == (1, 1, {day_key(T0): 1})
    assert idea.voters == {voter_key("bob"): T0.replace(microsecond=123000)}
    assert idea.oldest_vote_day == day_key(T0)
    assert up.data.target_author_id == "alice" and up.subject == idea.idea_id
    assert idea.vote("bob", 1, T0 + timedelta(seconds=1)) == []  # unchanged: no event
    (w,) = idea.vote("bob", 0, T0 + timedelta(days=1))
    assert isinstance(w.data, IdeaVoteCast) and (w.data.value, w.data.previous_value) == (0, 1)
    # taken back from the bucket of the day it was cast
    assert (idea.votes, idea.recent_votes, idea.vote_days) == (0, 0, {day_key(T0): 0})
    assert idea.voters == {}
    assert idea.vote("bob", 0, T0) == []


def test_withdrawing_a_vote_whose_day_expired_leaves_recent_votes_alone() -> None:
    idea = submit()
    idea.vote("bob", 1, T0)
    idea.vote("carol", 1, T0 + timedelta(days=8))
    assert idea.expire_days(T0 + timedelta(days=8)) == []  # what the trending job does
    assert (idea.recent_votes, idea.vote_days) == (1, {day_key(T0 + timedelta(days=8)): 1})
    assert idea.oldest_vote_day == day_key(T0 + timedelta(days=8))
    (w,) = idea.vote("bob", 0, T0 + timedelta(days=8))
    assert w.data.previous_value == 1
    assert (idea.votes, idea.recent_votes) == (1, 1)
    assert day_key(T0) not in idea.vote_days  # no negative bucket comes back


def test_no_vote_on_your_own_idea_and_none_on_a_merged_one() -> None:
    idea = submit("alice")
    for value in (1, 0):
        with pytest.raises(NotAllowedError):
            idea.vote("alice", value, T0)
    idea.merged_into = "other"
    with pytest.raises(IdeaMergedError):
        idea.vote("bob", 1, T0)
    idea.merged_into, idea.merging_into = None, "other"
    with pytest.raises(IdeaMergedError):
        idea.vote("bob", 1, T0)


LEGAL = {
    ("new", "under_review"),
    ("new", "planned"),
    ("new", "declined"),
    ("under_review", "planned"),
    ("under_review", "declined"),
    ("planned", "in_progress"),
    ("planned", "under_review"),
    ("planned", "declined"),
    ("in_progress", "completed"),
    ("in_progress", "planned"),
    ("in_progress", "declined"),
    ("declined", "under_review"),
}


@pytest.mark.parametrize(("a", "b"), list(product(workflow.STATUSES, repeat=2)))
def test_every_move_of_the_state_machine(a: str, b: str) -> None:
    idea = submit()
    idea.status = a
    if (a, b) in LEGAL:
        (e,) = idea.change_status(b, "sam", "because", T0)
        assert isinstance(e.data, IdeaStatusChanged)
        assert (e.data.from_status, e.data.to_status, e.data.changed_by) == (a, b, "sam")
        assert e.data.author_id == "alice" and e.data.note == "because"
        (change,) = idea.status_history
        assert idea.status == b and (change.from_status, change.to_status) == (a, b)
        assert (change.changed_by, change.note) == ("sam", "because")
    else:
        with pytest.raises(IllegalTransitionError) as exc:
            idea.change_status(b, "sam", None, T0)
        assert a in exc.value.detail and b in exc.value.detail
        assert (exc.value.extra["from_status"], exc.value.extra["to_status"]) == (a, b)
        assert exc.value.status == 409 and idea.status == a


def test_status_needs_staff_and_a_live_idea() -> None:
    with pytest.raises(NotAllowedError):
        require_staff(frozenset({"member", "moderator"}), "x")
    require_staff(frozenset({"staff"}), "x")
    idea = submit()
    idea.merged_into = "y"
    with pytest.raises(IdeaMergedError):
        idea.change_status("planned", "sam", None, T0)


def _with_voters(idea: Idea, *users: str, at: datetime = T0) -> Idea:
    for u in users:
        idea.vote(u, 1, at)
    return idea


def test_merge_moves_votes_and_a_voter_of_both_counts_once() -> None:
    source = _with_voters(submit("carol", "s"), "u1", "u2", "u3", "alice")
    target = _with_voters(submit("alice", "t"), "u2", "u4")
    plan = plan_merge(source, target, "sam", T0 + timedelta(days=1))
    # u2 voted for both; alice wrote the target and cannot vote on it
    assert sorted(voter_of(k) for k in plan.moved) == ["u1", "u3"]
    assert plan.moved_votes == 2 and plan.recent_inc == 2 and plan.day_incs == {day_key(T0): 2}
    e = plan.event
    assert isinstance(e.data, IdeasMerged) and e.data.moved_votes == 2
    assert (e.data.source_author_id, e.data.target_author_id) == ("carol", "alice")
    assert e.id == merge_event_id("s", "t") and e.subject == "s"


def test_moved_votes_older_than_the_window_do_not_trend() -> None:
    source = _with_voters(submit("carol", "s"), "u1", at=T0)
    _with_voters(source, "u2", at=T0 + timedelta(days=7))
    target = submit("alice", "t")
    plan = plan_merge(source, target, "sam", T0 + timedelta(days=7))
    assert plan.moved_votes == 2 and plan.recent_inc == 1


def test_merge_conflicts() -> None:
    a, b = submit(idea_id="a"), submit(idea_id="b")
    with pytest.raises(MergeConflictError):
        check_merge(a, a)
    b.merged_into = "c"
    with pytest.raises(MergeConflictError):  # into a merged idea
        check_merge(a, b)
    with pytest.raises(IdeaMergedError):  # a merged idea
        check_merge(b, a)
    b.merged_into, b.merging_into = None, "c"
    with pytest.raises(MergeConflictError):  # into an idea being merged
        check_merge(a, b)
    a.merging_into = "z"
    b.merging_into = None
    with pytest.raises(IdeaMergedError):  # an idea being merged elsewhere
        check_merge(a, b)
    a.merging_into = "b"
    check_merge(a, b)  # resuming the same merge is fine
    assert isinstance(MergeConflictError("x"), ConflictError)


def test_comment_event() -> None:
    idea = submit(idea_id="i")
    c, (e,) = idea.comment("bob", "+1", T0, "c1")
    assert c.body == "+1" and c.comment_id == "c1"
    assert isinstance(e.data, IdeaCommented)
    assert (e.data.idea_id, e.data.comment_id, e.data.author_id, e.subject) == (
        "i",
        "c1",
        "bob",
        "i",
    )
    idea.merged_into = "j"
    with pytest.raises(IdeaMergedError):
        idea.comment("bob", "+1", T0)


def test_trending_window_is_today_and_the_six_days_before() -> None:
    now = datetime(2026, 12, 8, 0, 30, tzinfo=UTC)
    assert window_start(now) == "d20261202"
    days = {"d20261130": 2, "d20261201": 1, "d20261202": 3, "d20261208": 1}
    assert expired_days(days, now) == {"d20261130": 2, "d20261201": 1}


def test_a_merge_is_begin_absorb_finish_each_idempotent() -> None:
    source = _with_voters(submit("carol", "s"), "u1", "u2")
    target = _with_voters(submit("alice", "t"), "u2")
    assert source.begin_merge(target, "a1", "sam", T0) == []
    assert (source.merging_into, source.merge_attempt, source.merge_by) == ("t", "a1", "sam")
    with pytest.raises(IdeaMergedError):  # frozen
        source.vote("u9", 1, T0)
    source.begin_merge(target, "a2", "sam", T0)  # a second request joins the attempt
    assert source.merge_attempt == "a1"

    (e,) = target.absorb(source, "a1", "sam", T0 + timedelta(days=1))
    assert isinstance(e.data, IdeasMerged) and e.data.moved_votes == 1
    assert target.votes == 2 and set(target.voters) == {voter_key("u1"), voter_key("u2")}
    assert target.recent_votes == 2 and target.vote_days == {day_key(T0): 2}
    record = target.merge_record("a1")
    assert record is not None and record["moved_votes"] == 1 and not record["aborted"]
    assert target.absorb(source, "a1", "sam", T0) == [] and target.votes == 2  # once

    assert source.finish_merge("t", "a1") == []
    assert (source.merged_into, source.merging_into, source.votes, source.voters) == (
        "t",
        None,
        0,
        {},
    )
    assert source.finish_merge("t", "a1") == [] and source.merged_into == "t"


def test_an_attempt_into_a_merged_target_is_recorded_aborted_and_released() -> None:
    source = _with_voters(submit("carol", "s"), "u1")
    target = submit("alice", "t")
    source.begin_merge(target, "a1", "sam", T0)
    target.merged_into = "elsewhere"
    assert target.absorb(source, "a1", "sam", T0) == []
    record = target.merge_record("a1")
    assert record is not None and record["aborted"] and target.votes == 0
    source.release_merge("a1")
    assert (source.merging_into, source.merge_attempt, source.votes) == (None, None, 1)
    source.vote("u2", 1, T0)  # votable again
