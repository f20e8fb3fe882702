"""Who is told what (issue 25 item 2), on plain events and an in-memory World."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest

from notifications.domain.recipients import World, candidates, mentions, notification_id
from schemas import EventData, new_event
from schemas.analytics import SentimentDropped, TrendDetected
from schemas.forum import (
    AnswerAccepted,
    EscalationAcknowledged,
    EscalationResolved,
    PostCreated,
    PostHidden,
    VoteCast,
)
from schemas.gatherings import (
    GatheringCancelled,
    GatheringReminderDue,
    GiveawayDrawn,
    RsvpChanged,
    SeatOffered,
)
from schemas.ideas import IdeaStatusChanged, IdeaSubmitted, IdeaVoteCast
from schemas.reputation import BadgeAwarded, LevelChanged


def question(thread: str, author: str, **kw: Any) -> Any:
    return new_event(
        PostCreated(
            post_id=f"{thread}-op",
            thread_id=thread,
            kind="question",
            author_id=author,
            title="How?",
            body_length=3,
            **kw,
        ),
        subject=thread,
        actor_id=author,
    )


def reply(thread: str, post: str, author: str, body: str = "", parent: str | None = None) -> Any:
    return new_event(
        PostCreated(
            post_id=post,
            thread_id=thread,
            kind="reply",
            author_id=author,
            parent_post_id=parent,
            body_length=len(body),
            body=body,
        ),
        subject=thread,
        actor_id=author,
    )


def told(event: Any, w: World) -> dict[str, str]:
    return {c.recipient: c.kind for c in candidates(event, w)}


def test_a_reply_tells_the_asker_directly_and_the_watchers_as_followed_activity() -> None:
    w = World()
    assert told(question("t1", "asker"), w) == {}
    assert told(reply("t1", "p1", "helper"), w) == {"asker": "reply"}
    # helper now watches what they answered: the next reply tells both
    assert told(reply("t1", "p2", "third"), w) == {"asker": "reply", "helper": "watched_post"}
    # a reply to helper's reply goes to helper directly
    assert told(reply("t1", "p3", "asker", parent="p1"), w) == {
        "helper": "reply",
        "third": "watched_post",
    }


def test_never_notify_members_of_their_own_actions() -> None:
    w = World()
    candidates(question("t1", "asker"), w)
    assert told(reply("t1", "p1", "asker"), w) == {}
    accepted = new_event(
        AnswerAccepted(
            thread_id="t1",
            answer_post_id="p1",
            answer_author_id="asker",
            question_author_id="asker",
        ),
        subject="t1",
        actor_id="asker",
    )
    assert told(accepted, w) == {}


def test_mentions_reach_only_users_the_community_knows() -> None:
    w = World()
    candidates(question("t1", "asker"), w)
    vote = new_event(
        VoteCast(
            target_id="x",
            thread_id="t9",
            target_kind="question",
            target_author_id="bob",
            voter_id="carol",
            value=1,
            previous_value=0,
        ),
        subject="t9",
        actor_id="carol",
    )
    candidates(vote, w)  # bob and carol now exist
    got = told(reply("t1", "p1", "dave", body="thanks @bob and @nobody, cc @carol."), w)
    assert got == {"asker": "reply", "bob": "mention", "carol": "mention"}
    assert mentions("mail me at x@bob.com or @bob") == ["bob"]


def test_classes_of_direct_and_transactional_events() -> None:
    w = World()
    candidates(question("t1", "asker"), w)
    ev = [
        (
            new_event(
                PostHidden(post_id="p", thread_id="t1", author_id="asker", reason="spam"),
                subject="t1",
                actor_id="mod",
            ),
            {"asker": "post_hidden"},
        ),
        (
            new_event(
                EscalationAcknowledged(thread_id="t1", acknowledged_by="sup"),
                subject="t1",
                actor_id="sup",
            ),
            {"asker": "escalation_acknowledged"},
        ),
        (
            new_event(
                EscalationResolved(
                    thread_id="t1", resolved_by="sup", resolution="answered_by_support"
                ),
                subject="t1",
            ),
            {"asker": "escalation_answered"},
        ),
        (
            new_event(
                EscalationResolved(thread_id="t1", resolved_by="x", resolution="closed"),
                subject="t1",
            ),
            {},
        ),
        (
            new_event(BadgeAwarded(user_id="u", badge="helper", source_event_id="e"), subject="u"),
            {"u": "badge"},
        ),
        (
            new_event(LevelChanged(user_id="u", from_level=1, to_level=2), subject="u"),
            {"u": "level"},
        ),
        (new_event(LevelChanged(user_id="u", from_level=2, to_level=1), subject="u"), {}),
    ]
    for event, expected in ev:
        assert told(event, w) == expected, event.type


def test_idea_voters_and_author_watch_status_changes() -> None:
    w = World()
    candidates(
        new_event(
            IdeaSubmitted(
                idea_id="i1", author_id="a", title="Dark mode", category="ui", product_area="app"
            ),
            subject="i1",
        ),
        w,
    )
    candidates(
        new_event(
            IdeaVoteCast(
                target_id="i1", target_author_id="a", voter_id="v", value=1, previous_value=0
            ),
            subject="i1",
        ),
        w,
    )
    changed = new_event(
        IdeaStatusChanged(
            idea_id="i1", author_id="a", from_status="new", to_status="planned", changed_by="staff"
        ),
        subject="i1",
        actor_id="staff",
    )
    assert told(changed, w) == {"a": "idea_status", "v": "idea_status"}


def test_explicit_levels_beat_defaults_and_muted_is_carried() -> None:
    w = World(follows={"group|g": {"fan": "watching", "hater": "muted"}})
    w.follows["thread|t1"] = {"hater": "muted"}
    got = {c.recipient: (c.kind, c.level) for c in candidates(question("t1", "a", group_id="g"), w)}
    assert got == {"fan": ("watched_post", "watching")}


class _SomethingNew(EventData):
    producer: ClassVar[str] = "gatherings"
    event_name: ClassVar[str] = "SomethingNobodyKnows"
    gathering_id: str


def test_gatherings_events_with_their_landed_schemas_and_unknown_types_ignored() -> None:
    w = World()
    starts = datetime(2026, 12, 24, 17, tzinfo=UTC)
    rem = new_event(
        GatheringReminderDue(
            gathering_id="g1", user_id="m", title="AMA", starts_at=starts, offset_seconds=3600
        ),
        subject="g1",
    )
    assert told(rem, w) == {"m": "gathering_reminder"}
    drawn = new_event(
        GiveawayDrawn(
            gathering_id="g1",
            giveaway_id="gw",
            round=1,
            drawn_by="staff",
            seed="s",
            seed_commitment="0" * 64,
            entrants_hash="1" * 64,
            winners=["a", "b"],
            algorithm="sha256-rank",
        ),
        subject="g1",
        actor_id="staff",
    )
    assert told(drawn, w) == {"a": "giveaway_won", "b": "giveaway_won"}
    assert told(new_event(_SomethingNew(gathering_id="g1"), subject="g1"), w) == {}


def test_going_watches_the_gathering_and_a_cancellation_tells_seats_and_waitlist() -> None:
    w = World()

    def rsvp(member: str, to: str) -> Any:
        return new_event(
            RsvpChanged(gathering_id="g1", user_id=member, from_status="none", to_status=to),
            subject="g1",
            actor_id=member,
        )

    assert told(rsvp("going1", "going"), w) == {}
    assert told(rsvp("maybe1", "waitlisted"), w) == {}
    assert w.level("gathering", "g1", "going1") == "watching"
    assert w.level("gathering", "g1", "maybe1") is None
    offered = new_event(SeatOffered(gathering_id="g1", user_id="maybe1"), subject="g1")
    assert told(offered, w) == {"maybe1": "seat_offered"}
    cancelled = new_event(
        GatheringCancelled(
            gathering_id="g1",
            cancelled_by="host",
            going_ids=["going1", "going2"],
            waitlisted_ids=["late"],
        ),
        subject="g1",
        actor_id="host",
    )
    assert told(cancelled, w) == {
        "going1": "gathering_cancelled",
        "going2": "gathering_cancelled",
        "maybe1": "gathering_cancelled",
        "late": "gathering_cancelled",
    }


@pytest.mark.parametrize("kind", ["reply", "mention"])
def test_notification_ids_are_deterministic_per_recipient_event_and_reason(kind: str) -> None:
    assert notification_id("u", "e", kind) == notification_id("u", "e", kind)
    assert notification_id("u", "e", kind) != notification_id("v", "e", kind)
    assert notification_id("u", "e", "reply") != notification_id("u", "e", "badge")


def test_listening_alerts_reach_staff_and_a_tags_followers() -> None:
    w = World(staff=frozenset({"staff1"}))
    w.default_follow("fan", "tag", "billing", "watching")
    common = {
        "dimension": "tag",
        "key": "billing",
        "day": "2026-12-07",
        "count": 9,
        "baseline": 1.0,
        "baseline_days": 28,
        "lift": 9.0,
        "thread_ids": ["t1"],
    }
    trend = new_event(TrendDetected(alert_id="a1", **common), subject="billing")
    assert told(trend, w) == {"staff1": "trending", "fan": "trending"}
    dropped = new_event(
        SentimentDropped(alert_id="a2", mean_compound=-0.4, **common), subject="billing"
    )
    assert told(dropped, w) == {"staff1": "emerging_issue"}
