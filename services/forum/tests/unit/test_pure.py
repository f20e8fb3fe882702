"""Command validation and the level fold (no I/O). (The cursor is the kit's, tested there.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from communitykit.consumer import Received
from communitykit.levels import fold
from forum.domain.commands import CreateGroup, CreateReply, EditPost, FlagPost
from forum.domain.errors import InvalidCommandError
from schemas import new_event
from schemas.reputation import LevelChanged, ReputationChanged


def test_commands_reject_unknown_fields_and_bad_sizes() -> None:
    with pytest.raises(ValidationError):
        CreateReply.model_validate({"body": "x", "admin": True})
    with pytest.raises(ValidationError):
        CreateReply.model_validate({"body": "x" * 50_001})
    with pytest.raises(ValidationError):
        FlagPost.model_validate({"reason": ""})
    with pytest.raises(ValidationError):
        CreateGroup.model_validate({"name": "", "description": "d"})
    with pytest.raises(InvalidCommandError):
        EditPost()  # cross-field checks run with the model's own validation
    with pytest.raises(InvalidCommandError):
        CreateReply(body="   ")
    assert CreateReply(body='{"$gt": ""}').body == '{"$gt": ""}'  # data, not a query


def _received(user: str, to: int, t: datetime, eid: str) -> Received:
    e = new_event(
        LevelChanged(user_id=user, from_level=0, to_level=to), subject=user, time=t, event_id=eid
    )
    return Received(e, "reputation.events", 0, 0)


def test_fold_keeps_the_newest_level_per_user_in_any_order() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    batch = [
        _received("u", 2, t0 + timedelta(seconds=2), "b"),
        _received("u", 1, t0 + timedelta(seconds=1), "z"),
        _received("u", 3, t0 + timedelta(seconds=2), "c"),  # same time: larger id wins
        _received("v", 1, t0, "a"),
    ]
    other = new_event(
        ReputationChanged(user_id="u", delta=5, total=6, reason="r", source_event_id="s"),
        subject="u",
    )
    batch.append(Received(other, "reputation.events", 0, 1))
    for order in (batch, list(reversed(batch))):
        folded = fold(order)
        assert {u: lvl for u, (_, _, lvl) in folded.items()} == {"u": 3, "v": 1}
