"""Gatherings and notifications metrics on the real broker and store (issue 23 item 8,
issue 25 item 6): events produced twice to gatherings.events and notifications.events are
read back once over HTTP, and the endpoints are documented in the OpenAPI document."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas import Envelope, EventData, new_event, topics
from schemas import forum as f
from schemas import gatherings as g
from schemas import notifications as n

from ...conftest import eventually
from ...servers import Servers
from .helpers import analytics, at, caught_up, produce

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

D = date(2026, 8, 10)
H = "0" * 64


def story(tag: str, D: date = D) -> list[tuple[str, Envelope[Any]]]:
    """A gathering with 2 seats (two members going, one walk-in, one no-show after a
    promotion), a guest question, giveaway entries; notifications delivered, suppressed,
    digested and read; some forum activity before and after."""
    out: list[tuple[str, Envelope[Any]]] = []
    u = {k: f"{k}-{tag}" for k in ("hana", "alice", "bob", "carol", "dave", "gus")}
    gid = f"G-{tag}"

    def gev(t: Any, data: EventData, actor: str | None) -> None:
        out.append((topics.GATHERINGS_EVENTS, new_event(data, subject=gid, actor_id=actor, time=t)))

    def nev(t: Any, data: Any) -> None:
        actor = data.recipient_id if isinstance(data, n.NotificationRead) else None
        env = new_event(data, subject=data.recipient_id, actor_id=actor, time=t)
        out.append((topics.NOTIFICATIONS_EVENTS, env))

    def rsvp(t: Any, who: str, frm: str, to: str, promoted: bool = False) -> None:
        gev(t, g.RsvpChanged(gathering_id=gid, user_id=u[who], from_status=frm, to_status=to,
                             promoted=promoted), None if promoted else u[who])  # type: ignore[arg-type]  # fmt: skip

    start = at(D, 18)
    gev(at(D - timedelta(days=3), 9), g.GatheringScheduled(
        gathering_id=gid, host_id=u["hana"], title="AMA", starts_at=start,
        ends_at=start + timedelta(hours=1), timezone="Europe/Paris", capacity=2,
        guest_ids=[u["gus"]]), u["hana"])  # fmt: skip
    rsvp(at(D, 9), "alice", "none", "going")
    rsvp(at(D, 9, 1), "bob", "none", "going")
    rsvp(at(D, 9, 2), "carol", "none", "waitlisted")
    rsvp(at(D, 10), "bob", "going", "not_going")
    rsvp(at(D, 10), "carol", "waitlisted", "going", promoted=True)
    gev(at(D, 10), g.SeatOffered(gathering_id=gid, user_id=u["carol"], freed_by=u["bob"]), None)
    gev(at(D, 12), g.GuestQuestionAsked(gathering_id=gid, question_id=f"q-{tag}",
                                        author_id=u["alice"], body="?"), u["alice"])  # fmt: skip
    for who, seated in (("alice", True), ("dave", False)):
        gev(at(D, 18, 5), g.MemberCheckedIn(gathering_id=gid, user_id=u[who], host_id=u["hana"],
                                            was_going=seated), u[who])  # fmt: skip
    gev(at(D, 18, 30), g.GiveawayEntered(gathering_id=gid, giveaway_id=f"w-{tag}",
                                         user_id=u["alice"]), u["alice"])  # fmt: skip
    thread = f"T-{tag}"
    active = ((-2, "alice"), (1, "alice"), (3, "alice"), (5, "dave"))
    for day, who in ((D + timedelta(days=k), w) for k, w in active):
        pid = f"{thread}-{day}-{who}"
        data = f.PostCreated(post_id=pid, thread_id=pid, kind="discussion", author_id=u[who],
                             title="t", body_length=3)  # fmt: skip
        out.append((topics.FORUM_EVENTS, new_event(data, subject=pid, actor_id=u[who],
                                                   time=at(day, 9))))  # fmt: skip
    base = {"kind": "reply", "priority": "P1", "source_event_id": f"src-{tag}"}
    for k, ch in enumerate(("in_app", "in_app", "email")):
        nev(at(D, 11, k), n.NotificationDelivered(notification_id=f"n{k}-{tag}",
            recipient_id=u["alice"], channel=ch, entry_id=f"e{k}", **base))  # type: ignore[arg-type]  # fmt: skip
    nev(at(D, 12), n.NotificationSuppressed(notification_id=f"s-{tag}", recipient_id=u["bob"],
        reason="budget", in_digest=True, **base))  # type: ignore[arg-type]  # fmt: skip
    nev(at(D, 20), n.DigestSent(digest_id=f"d-{tag}", recipient_id=u["bob"], period=str(D),
        item_count=1, sent_at=at(D, 20)))  # fmt: skip
    nev(at(D, 21), n.NotificationRead(recipient_id=u["alice"], entry_id="e0",
                                      notification_count=1))  # fmt: skip
    return out


async def end_offsets(servers: Servers) -> dict[TopicPartition, int]:
    tps = [
        TopicPartition(t, p)
        for t in (topics.FORUM_EVENTS, topics.GATHERINGS_EVENTS, topics.NOTIFICATIONS_EVENTS)
        for p in range(topics.EVENT_TOPIC_PARTITIONS)
    ]
    c = AIOKafkaConsumer(bootstrap_servers=servers.kafka, enable_auto_commit=False)
    await c.start()
    try:
        return dict(await c.end_offsets(tps))
    finally:
        await c.stop()


async def get(http: httpx.AsyncClient, url: str) -> Any:
    r = await http.get(url)
    assert r.status_code == 200, r.text
    return r.json()


async def test_gatherings_and_notifications_metrics_over_http(
    servers: Servers, http: httpx.AsyncClient
) -> None:
    tag = uuid.uuid4().hex[:6]
    events = story(tag)
    async with analytics(servers, "engagement", ANALYTICS_CONSUMER_MAX_RECORDS="7") as proc:
        await produce(servers.kafka, events)
        await produce(servers.kafka, events)  # every event again: counted once
        marks = await end_offsets(servers)
        await eventually(lambda: caught_up(servers, proc, marks), timeout=180)

        o = await get(http, f"{proc.url}/gatherings/overview?from={D}&to={D}")
        assert (o["from"], o["to"], o["held"], o["rsvps"], o["waitlist_promotions"]) == (
            str(D), str(D), 1, 3, 1)  # fmt: skip
        # seats held: alice and carol; alice came, carol did not; dave walked in
        assert (o["going"], o["checked_in_going"], o["check_ins"]) == (2, 1, 2)
        assert o["show_up_rate"] == 0.5
        assert (o["guest_questions"], o["giveaway_entries"]) == (1, 1)
        # alice: 1 active day before, 2 after; dave: 0 and 1
        assert o["attendances_compared"] == 2
        assert (o["attendee_active_days_before"], o["attendee_active_days_after"]) == (0.5, 1.5)
        assert o["attendee_activity_lift"] == 3.0
        d3 = D - timedelta(days=3)
        earlier = await get(http, f"{proc.url}/gatherings/overview?from={d3}&to={d3}")
        assert (earlier["scheduled"], earlier["held"]) == (1, 0)

        nt = await get(http, f"{proc.url}/notifications/overview?from={D}&to={D}")
        assert nt["delivered_by_channel"] == {"in_app": 2, "email": 1}
        assert (nt["suppressed"], nt["suppressed_share"]) == (1, 0.25)
        assert nt["suppressed_share_by_reason"]["budget"] == 0.25
        assert (nt["digests_sent"], nt["held_for_digest"], nt["read_rate"]) == (1, 1, 0.5)
        # active on D: alice, carol (RSVP'd), dave (checked in) and ... everyone who acted
        assert nt["active_users"] >= 3
        assert nt["points"] == [
            {"day": str(D), "delivered": 3, "suppressed": 1, "read": 1, "digests_sent": 1}
        ]

        bad = await http.get(f"{proc.url}/gatherings/overview?from={D}&to={D - timedelta(days=1)}")
        assert bad.status_code == 422 and bad.json()["field"] == "from"

        spec = await get(http, f"{proc.url}/openapi.json")
        for path, schema in (("/gatherings/overview", "GatheringsSummary"),
                             ("/notifications/overview", "NotificationsSummary")):  # fmt: skip
            ok = spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
            assert ok["schema"]["$ref"].endswith(schema)
            assert (
                "show_up_rate" in spec["components"]["schemas"]["GatheringsSummary"]["properties"]
            )
