"""Gatherings and notifications metrics (issue 23 item 8, issue 25 item 6): real events
through the real projection and HTTP handlers, once and redelivered."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

from analytics.entrypoints import engagement
from schemas import EventData, topics
from schemas import gatherings as g
from schemas import notifications as n

from .conftest import Community, at

D = date(2026, 11, 10)
H = "0" * 64


def _g(c: Community, t: Any, data: EventData, actor: str | None) -> None:
    c._emit(topics.GATHERINGS_EVENTS, data, data.gathering_id, actor, t)  # type: ignore[attr-defined]


def _n(c: Community, t: Any, data: EventData) -> None:
    actor = data.recipient_id if isinstance(data, n.NotificationRead) else None  # type: ignore[attr-defined]
    c._emit(topics.NOTIFICATIONS_EVENTS, data, data.recipient_id, actor, t)  # type: ignore[attr-defined]


def rsvp(c: Community, t: Any, user: str, frm: str, to: str, promoted: bool = False) -> None:
    data = g.RsvpChanged(
        gathering_id="G1", user_id=user, from_status=frm, to_status=to, promoted=promoted
    )  # type: ignore[arg-type]
    _g(c, t, data, None if promoted else user)


def gathering_story(c: Community) -> None:
    """G1 on D at 18:00 with 2 seats: alice and bob go, carol is waitlisted; bob cancels
    and carol is promoted; alice and carol (seated) and dave (a walk-in) check in. G2 is
    scheduled and cancelled. alice was active 3 days before and 2 and 4 days after; dave
    1 day after."""
    start = at(D, 18)
    _g(c, at(D - timedelta(days=5), 9), g.GatheringScheduled(
        gathering_id="G1", host_id="hana", title="Meet the CTO", starts_at=start,
        ends_at=start + timedelta(hours=1), timezone="UTC", capacity=2, guest_ids=["gus"],
    ), "hana")  # fmt: skip
    _g(c, at(D - timedelta(days=5), 9), g.GatheringScheduled(
        gathering_id="G2", host_id="hana", title="Cancelled", starts_at=start,
        ends_at=start + timedelta(hours=1), timezone="UTC",
    ), "hana")  # fmt: skip
    rsvp(c, at(D, 9), "alice", "none", "going")
    rsvp(c, at(D, 9, 5), "bob", "none", "going")
    rsvp(c, at(D, 9, 10), "carol", "none", "waitlisted")
    rsvp(c, at(D, 10), "bob", "going", "not_going")
    rsvp(c, at(D, 10), "carol", "waitlisted", "going", promoted=True)
    _g(c, at(D, 10), g.SeatOffered(gathering_id="G1", user_id="carol", freed_by="bob"), None)
    _g(c, at(D, 11), g.GatheringCancelled(gathering_id="G2", cancelled_by="hana"), "hana")
    _g(c, at(D, 12), g.GuestQuestionAsked(
        gathering_id="G1", question_id="q1", author_id="alice", body="why?"), "alice")  # fmt: skip
    for user, seated in (("alice", True), ("carol", True), ("dave", False)):
        _g(c, at(D, 18, 5), g.MemberCheckedIn(
            gathering_id="G1", user_id=user, host_id="hana", was_going=seated), user)  # fmt: skip
    _g(c, at(D, 18, 10), g.GuestQuestionAnswered(
        gathering_id="G1", question_id="q1", question_author_id="alice", answered_by="gus",
        by_guest=True), "gus")  # fmt: skip
    for user in ("alice", "carol"):
        _g(c, at(D, 18, 20), g.GiveawayEntered(
            gathering_id="G1", giveaway_id="w1", user_id=user), user)  # fmt: skip
    _g(c, at(D, 19), g.GiveawayDrawn(
        gathering_id="G1", giveaway_id="w1", round=1, drawn_by="hana", seed="s",
        seed_commitment=H, entrants_hash=H, winners=["carol"], algorithm="a"), "hana")  # fmt: skip
    # activity around the gathering (forum events)
    c.post(at(D - timedelta(days=3), 9), "alice", "question", "QA")
    c.post(at(D + timedelta(days=2), 9), "alice", "question", "QB")
    c.post(at(D + timedelta(days=4), 9), "alice", "question", "QC")
    c.post(at(D + timedelta(days=1), 9), "dave", "question", "QD")


def gatherings(c: Community, start: date, end: date) -> dict[str, Any]:
    body = asyncio.run(engagement.gatherings_overview(c.store, c.settings, start, end))
    return body.model_dump(by_alias=True)


def notifications(c: Community, start: date, end: date) -> dict[str, Any]:
    body = asyncio.run(engagement.notifications_overview(c.store, c.settings, start, end))
    return body.model_dump(by_alias=True)


def test_gatherings_figures(community: Community) -> None:
    gathering_story(community)
    community.apply()
    o = gatherings(community, D, D)
    assert (o["held"], o["cancelled"], o["rsvps"], o["waitlist_promotions"]) == (1, 1, 3, 1)
    # seats held at the start: alice and carol; both checked in (dave walked in)
    assert (o["going"], o["checked_in_going"], o["check_ins"]) == (2, 2, 3)
    assert o["show_up_rate"] == 1.0
    assert (o["guest_questions"], o["guest_questions_answered"]) == (1, 1)
    assert (o["giveaway_entries"], o["giveaway_draws"]) == (2, 1)
    # alice 1 day before, 2 after; carol 0 and 0; dave 0 and 1 (check-in days excluded)
    assert o["attendances_compared"] == 3
    assert o["attendee_active_days_before"] == round(1 / 3, 2)
    assert o["attendee_active_days_after"] == 1.0
    assert o["attendee_activity_lift"] == 3.0
    assert [p["check_ins"] for p in o["points"]] == [3]
    # scheduling happened 5 days earlier: counted on that day, the gathering on its own
    before = gatherings(community, D - timedelta(days=5), D - timedelta(days=1))
    assert (before["scheduled"], before["held"]) == (2, 0)


def test_gatherings_not_yet_held_or_cancelled(community: Community) -> None:
    gathering_story(community)
    community.apply()
    # a window whose end is before the start of G1: scheduled, not held
    o = gatherings(community, D - timedelta(days=5), D - timedelta(days=5))
    assert (o["held"], o["show_up_rate"], o["attendances_compared"]) == (0, None, 0)


def test_gatherings_exactly_once(community: Community) -> None:
    gathering_story(community)
    recs = community.records
    community.apply([recs[:6], recs[:9], recs[4:], recs, recs[2:3]])
    want = Community()
    gathering_story(want)
    want.apply()
    assert gatherings(community, D, D) == gatherings(want, D, D)


def notification_story(c: Community) -> None:
    base = {"kind": "reply", "priority": "P1", "source_event_id": "e"}
    for k, (who, ch) in enumerate([("alice", "in_app"), ("bob", "in_app"), ("alice", "email"),
                                  ("carol", "in_app")]):  # fmt: skip
        _n(c, at(D, 9 + k), n.NotificationDelivered(
            notification_id=f"n{k}", recipient_id=who, channel=ch, entry_id=f"e{k}", **base))  # type: ignore[arg-type]  # fmt: skip
    for k, (reason, digest) in enumerate([("budget", True), ("budget", True),
                                         ("quiet_hours", True), ("muted", False)]):  # fmt: skip
        _n(c, at(D, 14 + k), n.NotificationSuppressed(
            notification_id=f"s{k}", recipient_id="bob", reason=reason, in_digest=digest,
            **base))  # type: ignore[arg-type]  # fmt: skip
    _n(c, at(D, 20), n.DigestSent(
        digest_id="d1", recipient_id="bob", period="2026-11-10", item_count=3, kinds=["reply"],
        sent_at=at(D, 20)))  # fmt: skip
    _n(c, at(D, 21), n.NotificationRead(recipient_id="alice", entry_id="e0", notification_count=2))
    c.post(at(D, 8), "bob", "question", "QN")


def test_notifications_figures(community: Community) -> None:
    notification_story(community)
    community.apply()
    o = notifications(community, D, D)
    assert o["delivered"] == 4
    assert o["delivered_by_channel"] == {"in_app": 3, "email": 1}
    assert o["suppressed"] == 4
    assert o["suppressed_by_reason"]["budget"] == 2
    assert o["suppressed_share"] == 0.5
    assert o["suppressed_share_by_reason"]["budget"] == 0.25
    assert o["suppressed_share_by_reason"]["recently_active"] == 0.0
    assert (o["held_for_digest"], o["digests_sent"], o["digest_items"]) == (3, 1, 3)
    assert o["read_rate"] == round(2 / 3, 4)
    # active: bob (posted) and alice (read): 4 deliveries ÷ 2 members, a 1-day window
    assert o["active_users"] == 2
    assert o["per_active_member_per_week"] == 14.0
    # a week: the same deliveries spread over 7 days
    week = notifications(community, D - timedelta(days=6), D)
    assert week["per_active_member_per_week"] == 2.0
    assert [p["delivered"] for p in week["points"]] == [0, 0, 0, 0, 0, 0, 4]


def test_notifications_empty_window_has_no_rates(community: Community) -> None:
    o = notifications(community, D, D)
    assert (o["delivered"], o["suppressed_share"], o["read_rate"]) == (0, None, None)
    assert o["per_active_member_per_week"] is None


def test_notifications_exactly_once(community: Community) -> None:
    notification_story(community)
    recs = community.records
    community.apply([recs[:3], recs[:7], recs[5:], recs])
    assert notifications(community, D, D)["delivered"] == 4
    assert notifications(community, D, D)["read"] == 2
