"""Pure forum rules (no I/O)."""

from __future__ import annotations

import pytest

from forum.domain import rules
from forum.domain.errors import ConflictError, NotAllowedError


@pytest.mark.parametrize(
    ("other", "accepted", "escalated", "expected"),
    [
        (False, False, False, "open"),
        (True, False, False, "answered"),
        (True, True, False, "solved"),
        (False, True, False, "solved"),
        (True, True, True, "escalated"),
        (False, False, True, "escalated"),
    ],
)
def test_thread_status(other: bool, accepted: bool, escalated: bool, expected: str) -> None:
    assert (
        rules.thread_status(has_other_reply=other, accepted=accepted, escalation_open=escalated)
        == expected
    )


def test_moderators_and_staff_override_levels() -> None:
    assert rules.effective_level(0, {"member"}) == 0
    assert rules.effective_level(0, {"moderator"}) == 4
    assert rules.effective_level(1, {"staff", "member"}) == 4
    assert rules.effective_level(2, {"support"}) == 2


def test_downvote_needs_level_one() -> None:
    with pytest.raises(NotAllowedError):
        rules.check_downvote(-1, 0)
    rules.check_downvote(-1, 1)
    rules.check_downvote(1, 0)


def test_flag_needs_level_two_once_and_not_own_post() -> None:
    with pytest.raises(NotAllowedError):
        rules.check_flag(flagger_id="a", author_id="b", level=1, flaggers=[])
    with pytest.raises(NotAllowedError):
        rules.check_flag(flagger_id="b", author_id="b", level=2, flaggers=[])
    with pytest.raises(ConflictError):
        rules.check_flag(flagger_id="a", author_id="b", level=2, flaggers=["a"])
    rules.check_flag(flagger_id="a", author_id="b", level=2, flaggers=["c"])


@pytest.mark.parametrize(
    ("level", "before", "hidden", "hides"),
    [
        (2, 0, False, False),
        (2, 1, False, False),
        (2, 2, False, True),  # the third flag
        (3, 0, False, True),  # a regular hides at once
        (4, 5, True, False),  # never hidden twice
        (2, 7, True, False),
    ],
)
def test_flag_hiding_rule(level: int, before: int, hidden: bool, hides: bool) -> None:
    outcome = rules.flag_outcome(level=level, flags_before=before, already_hidden=hidden)
    assert outcome.hides is hides


def test_author_or_moderator() -> None:
    rules.check_author_or_moderator("a", {"member"}, "a")
    rules.check_author_or_moderator("m", {"moderator"}, "a")
    with pytest.raises(NotAllowedError):
        rules.check_author_or_moderator("b", {"member", "support"}, "a")


def test_once_ids_are_deterministic_per_fact() -> None:
    from forum.domain.thread import once_id

    assert once_id("t1", "escalated") == once_id("t1", "escalated")
    assert once_id("t1", "escalated") != once_id("t2", "escalated")
    assert once_id("t1", "escalated") != once_id("t1", "escalation-resolved")
