"""SPEC 4 version 2 over the real broker and store (issues 23 and 24): check-ins published on
``gatherings.events`` give the ``attendee`` and ``host`` badges, helpful votes published on
``media.events`` give a media item's author +5 and a withdrawal takes it back. (Named to run
before test_exactly_once: its rebuild == live then replays these topics too.)"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from schemas import Envelope, new_event, topics
from schemas.gatherings import MemberCheckedIn
from schemas.media import MediaVoted

from ...conftest import ServiceProcess, eventually, from_end, service_env
from ...servers import Servers
from .events import produce

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


@pytest.fixture(scope="module")
def rep(servers: Servers) -> Iterator[ServiceProcess]:
    proc = ServiceProcess("reputation", service_env(servers, "reputation", suffix="v2"))
    from_end(servers, proc)
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


async def profile(http: httpx.AsyncClient, rep: ServiceProcess, user: str) -> Any:
    r = await http.get(f"{rep.url}/users/{user}")
    assert r.status_code == 200, r.text
    return r.json()


async def test_checkins_and_helpful_votes_from_their_topics(
    servers: Servers, rep: ServiceProcess, http: httpx.AsyncClient
) -> None:
    tag = uuid.uuid4().hex[:6]
    host, ann, bob, item = f"hal-{tag}", f"ann-{tag}", f"bob-{tag}", f"media-{tag}"
    t0 = datetime.now(UTC) - timedelta(hours=1)
    checkins: list[Envelope[Any]] = []
    for n in range(10):  # ten members at the host's first gathering: host
        member = ann if n == 0 else f"m{n}-{tag}"
        data = MemberCheckedIn(
            gathering_id=f"g1-{tag}", user_id=member, host_id=host, was_going=True
        )
        checkins.append(new_event(data, subject=data.gathering_id, time=t0 + timedelta(seconds=n)))
    for g in ("g2", "g3"):  # ann's second and third gatherings: attendee
        data = MemberCheckedIn(gathering_id=f"{g}-{tag}", user_id=ann, host_id=host, was_going=True)
        checkins.append(new_event(data, subject=data.gathering_id, time=t0 + timedelta(minutes=5)))
    votes = [
        new_event(
            MediaVoted(
                target_id=item,
                gallery_id=f"gallery-{tag}",
                target_author_id=bob,
                voter_id=voter,
                value=1,
                previous_value=0,
            ),
            subject=item,
            time=t0 + timedelta(minutes=10),
        )
        for voter in (f"v1-{tag}", f"v2-{tag}")
    ]
    withdrawal = new_event(
        MediaVoted(
            target_id=item,
            gallery_id=f"gallery-{tag}",
            target_author_id=bob,
            voter_id=f"v2-{tag}",
            value=0,
            previous_value=1,
        ),
        subject=item,
        time=t0 + timedelta(minutes=20),
    )
    # the withdrawal first and everything twice: order and redelivery do not matter
    await produce(servers.kafka, [withdrawal, *votes, *votes], topics.MEDIA_EVENTS)
    await produce(servers.kafka, checkins + checkins[:4], topics.GATHERINGS_EVENTS)

    async def settled() -> bool:
        return (
            (await profile(http, rep, bob))["reputation"] == 6
            and "host" in (await profile(http, rep, host))["badges"]
            and "attendee" in (await profile(http, rep, ann))["badges"]
        )

    await eventually(settled, timeout=90)
    r = await http.get(f"{rep.url}/users/{bob}/ledger")
    lines = [(x["delta"], x["reason"]) for x in r.json()["items"]]
    assert sorted(lines) == [(-5, "vote-withdrawn"), (5, "upvote-media"), (5, "upvote-media")]
    assert (await profile(http, rep, host))["badges"] == ["host"]
