"""Every SPEC 5 metric on a small hand-made community (the story is told in conftest.py),
expected numbers written out."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

D1, D2 = date(2026, 11, 2), date(2026, 11, 3)
Community = Any  # the conftest fixture's class


def at(d: date, hour: int, minute: int = 0) -> datetime:
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=UTC)


def test_overview_of_the_first_day(community: Community) -> None:
    community.story()
    community.apply()
    o = community.overview(D1, D1)
    assert o["from"] == "2026-11-02" and o["to"] == "2026-11-02"
    # alice bob carol sam dave stella
    assert o["active_users"] == 6
    assert o["new_contributors"] == 6
    # Q1 Q2 Q3, 3 replies, 4 reviews
    assert (o["posts"], o["questions"], o["replies"], o["reviews"]) == (10, 3, 3, 4)
    assert (o["ideas_submitted"], o["votes"]) == (1, 3)
    # Q3 is still unanswered at the end of D1: a miss
    assert o["response_rate"] == 2 / 3
    assert o["ttfr_median_seconds"] == 7200  # [600, 7200, inf]: 2nd of 3
    assert o["ttfr_p90_seconds"] is None  # the 3rd of 3 is the miss
    assert o["ttfr_misses"] == 1
    # Q3's SLA runs out on D2 11:00, after the window: pending, not failed
    assert o["responded_within_sla"] == 1.0 and o["sla_pending"] == 1
    assert o["solution_rate"] == 2 / 3
    assert o["escalation_rate"] == 0.0  # Q3 was escalated on D2
    assert o["peer_solved_share"] == 0.5  # Q1 by bob (peer), Q2 by sam (support)
    assert o["idea_funnel"] == {
        "new": 1,
        "under_review": 1,
        "planned": 0,
        "in_progress": 0,
        "completed": 0,
        "declined": 0,
    }
    assert o["idea_median_days_to_planned"] is None
    # 100 * (0.3*2/3 + 0.3*2/3 + 0.2*1 (growth from nobody) + 0.2*(1 - 7200/86400))
    assert o["health_index"] == 78.3


def test_overview_of_both_days(community: Community) -> None:
    community.story()
    community.apply()
    o = community.overview(D1, D2)
    assert o["active_users"] == 7  # + erin; bob, sam, stella counted once over two days
    assert o["new_contributors"] == 7
    assert (o["posts"], o["questions"], o["replies"], o["reviews"]) == (13, 4, 5, 4)
    assert (o["ideas_submitted"], o["votes"]) == (1, 4)
    assert o["response_rate"] == 1.0
    assert o["ttfr_median_seconds"] == 1800  # [600, 1800, 7200, 90000]
    assert o["ttfr_p90_seconds"] == 90000
    assert o["ttfr_misses"] == 0
    assert o["responded_within_sla"] == 0.75  # Q3 took 25 h
    assert o["sla_pending"] == 0
    assert o["solution_rate"] == 0.5
    assert o["escalation_rate"] == 0.25
    assert o["peer_solved_share"] == 0.5
    assert o["idea_funnel"]["planned"] == 1
    assert o["idea_median_days_to_planned"] == 1.0
    # 100 * (0.3*1 + 0.3*0.5 + 0.2*1 + 0.2*(1 - 1800/86400))
    assert o["health_index"] == 84.6


def test_new_contributors_are_first_seen_in_the_window(community: Community) -> None:
    community.story()
    community.apply()
    o = community.overview(D2, D2)
    assert o["active_users"] == 4  # sam stella erin bob
    assert o["new_contributors"] == 1  # only erin is new on D2
    # growth: 4 active now vs 6 the day before -> 4/12
    assert o["previous_active_users"] == 6


def test_timeseries_one_point_per_day(community: Community) -> None:
    community.story()
    community.apply()
    assert community.timeseries("questions", D1, D2) == [("2026-11-02", 3), ("2026-11-03", 1)]
    assert community.timeseries("active_users", D1, D2) == [("2026-11-02", 6), ("2026-11-03", 4)]
    assert community.timeseries("new_contributors", D1, D2) == [
        ("2026-11-02", 6),
        ("2026-11-03", 1),
    ]
    assert community.timeseries("response_rate", D1, D2) == [
        ("2026-11-02", 2 / 3),
        ("2026-11-03", 1.0),
    ]
    assert community.timeseries("ttfr_median_seconds", D1, D2) == [
        ("2026-11-02", 7200),
        ("2026-11-03", 1800),
    ]


def test_product_ratings_leave_out_deleted_reviews(community: Community) -> None:
    community.story()
    community.apply()
    assert community.ratings("P1") == {
        "product_id": "P1",
        "count": 3,
        "mean": 3.67,
        "distribution": {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1},
    }
    assert community.ratings("nope")["count"] == 0
    assert community.ratings("nope")["mean"] is None


def test_the_new_forum_events_leave_the_metrics_sensible(community: Community) -> None:
    """GroupUpdated, GroupArchived, PostRestored, FlagsDismissed, EscalationAcknowledged and
    EscalationReopened change no count but their actors' activity; a reopened (even
    re-escalated) question counts as escalated once in the escalation rate."""
    from schemas import forum as f
    from schemas import topics

    community.story()
    community.apply()
    before = community.overview(D1, D2)
    e, t = community._emit, topics.FORUM_EVENTS
    e(
        t,
        f.EscalationAcknowledged(thread_id="Q3", acknowledged_by="sam"),
        "Q3",
        "sam",
        at(D2, 11, 30),
    )
    e(
        t,
        f.EscalationReopened(thread_id="Q3", reopened_by="dave", reason="no"),
        "Q3",
        "dave",
        at(D2, 13),
    )
    community.escalate(at(D2, 13, 5), "Q3", "dave", at(D1, 11))  # escalated a second time
    e(
        t,
        f.PostRestored(post_id="RV2", thread_id="RV2", author_id="bob", restored_by="mod"),
        "RV2",
        "mod",
        at(D2, 13, 10),
    )
    e(
        t,
        f.FlagsDismissed(post_id="RV3", thread_id="RV3", dismissed_by="mod", flag_count=2),
        "RV3",
        "mod",
        at(D2, 13, 20),
    )
    e(
        t,
        f.GroupUpdated(group_id="G1", name="n", description="d", updated_by="erin"),
        "G1",
        "erin",
        at(D2, 13, 30),
    )
    e(t, f.GroupArchived(group_id="G1", archived_by="erin"), "G1", "erin", at(D2, 13, 40))
    community.apply()
    after = community.overview(D1, D2)
    assert after["escalation_rate"] == before["escalation_rate"] == 0.25
    assert after["active_users"] == before["active_users"] + 1  # + mod; erin, sam, dave known
    unchanged = ("posts", "questions", "replies", "reviews", "votes", "solution_rate")
    assert {k: after[k] for k in unchanged} == {k: before[k] for k in unchanged}
