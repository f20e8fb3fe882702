"""PostModeration without any server: flags, the hide rule, review, restore, notices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from forum.domain.errors import ConflictError, NotAllowedError
from forum.domain.moderation import COMMUNITY, PostModeration

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
MOD = ["moderator"]


def post() -> PostModeration:
    return PostModeration(post_id="p", thread_id="t", author_id="author", version=0)


def names(events: list[Any]) -> list[str]:
    return [e.type.split(".")[2] for e in events]


def flagged(*users: tuple[str, int]) -> PostModeration:
    s = post()
    for i, (u, level) in enumerate(users):
        s, _ = s.flag(u, level, f"reason {u}", T0 + timedelta(minutes=i))
    return s


def test_flags_queue_then_third_flag_hides() -> None:
    s, ev = post().flag("a", 2, "spam", T0)
    assert names(ev) == ["PostFlagged"] and s.in_queue and s.flagged_at == T0 and not s.hidden
    s, ev = s.flag("b", 2, "spam", T0 + timedelta(minutes=1))
    assert s.flagged_at == T0 and len(s.open_flags) == 2  # queue position kept
    s, ev = s.flag("c", 2, "advert", T0 + timedelta(minutes=2))
    assert names(ev) == ["PostFlagged", "PostHidden"]
    assert s.hidden and s.hidden_by == COMMUNITY and s.hidden_reason == "flagged: spam; advert"
    assert ev[1].data.reason == "flagged: spam; advert" and ev[1].subject == "t"
    assert s.notice is not None and s.notice.kind == "hidden"
    # more flags never hide twice
    s2, ev = s.flag("d", 3, "x", T0)
    assert names(ev) == ["PostFlagged"] and s2.hide_count == 1


def test_flag_rules_of_spec_4() -> None:
    with pytest.raises(NotAllowedError):
        post().flag("a", 1, "spam", T0)  # level 2 needed
    with pytest.raises(NotAllowedError):
        post().flag("author", 4, "spam", T0)  # own post
    s = flagged(("a", 2))
    with pytest.raises(ConflictError):
        s.flag("a", 2, "again", T0)
    s, ev = post().flag("r", 3, "spam", T0)
    assert names(ev) == ["PostFlagged", "PostHidden"] and s.hidden  # level 3 hides at once


def test_review_needs_a_moderator_and_open_flags() -> None:
    with pytest.raises(NotAllowedError):
        flagged(("a", 2)).review("u", ["member"], "agree", None, T0)
    with pytest.raises(ConflictError):
        post().review("m", MOD, "agree", None, T0)


def test_agree_hides_with_the_moderators_reason_and_closes_flags() -> None:
    s, ev = flagged(("a", 2), ("b", 2)).review("m", MOD, "agree", "no ads", T0)
    assert names(ev) == ["PostHidden"] and ev[0].actorid == "m" and ev[0].data.reason == "no ads"
    assert s.hidden and s.hidden_by == "m" and not s.in_queue and s.flagged_at is None
    # agreeing with flags on a post the flags already hid: closes them, no second event
    auto = flagged(("r", 3))
    s, ev = auto.review("m", MOD, "agree", None, T0)
    assert ev == [] and s.hidden and not s.in_queue


def test_disagree_dismisses_and_restores_what_the_flags_hid() -> None:
    s, ev = flagged(("a", 2), ("b", 2)).review("m", MOD, "disagree", None, T0)
    assert names(ev) == ["FlagsDismissed"] and ev[0].data.flag_count == 2
    assert not s.in_queue and s.flaggers == ("a", "b")  # they cannot flag it again
    s, ev = flagged(("r", 3)).review("m", MOD, "disagree", None, T0)
    assert names(ev) == ["FlagsDismissed", "PostRestored"] and not s.hidden
    assert s.notice is not None and s.notice.kind == "restored"
    # a post a moderator hid is not restored by dismissing later flags
    hidden_by_mod, _ = flagged(("a", 2)).review("m", MOD, "agree", "no", T0)
    later, _ = hidden_by_mod.flag("b", 2, "x", T0)
    s, ev = later.review("m2", MOD, "disagree", None, T0)
    assert names(ev) == ["FlagsDismissed"] and s.hidden


def test_restore_then_hide_again_gets_new_event_ids() -> None:
    with pytest.raises(NotAllowedError):
        flagged(("r", 3)).restore("u", [], T0)
    assert post().restore("m", MOD, T0) == (post(), [])  # visible: nothing to do
    s, first = post().flag("r", 3, "spam", T0)
    s, ev = s.restore("m", MOD, T0)
    assert names(ev) == ["FlagsDismissed", "PostRestored"] and not s.hidden and not s.in_queue
    s, again = s.flag("q", 3, "spam", T0)
    s, ev2 = s.restore("m", ["staff"], T0)
    assert first[1].id != again[1].id and ev[1].id != ev2[1].id  # one id per generation
    # deterministic: the same generation always has the same id (at most once downstream)
    _, replay = post().flag("r", 3, "spam", T0)
    assert replay[1].id == first[1].id
