"""Issue 25 "Done when", on the real broker, store and SMTP server: 50 replies in a minute to
a watched thread give at most the budget in emails plus one digest listing the rest; a
replay of the topics sends nothing again, and neither does `make rebuild`."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from pymongo.asynchronous.database import AsyncDatabase

from schemas import topics

from ...conftest import ServiceProcess, auth, eventually
from ...servers import Servers, Smtp
from .conftest import (
    early_in_a_period,
    mails_to,
    notifications_process,
    positions,
    produce,
    thread_events,
    uid,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

STATE: dict[str, Any] = {}


async def test_fifty_replies_give_at_most_the_budget_in_emails_plus_one_digest(
    servers: Servers,
    service: ServiceProcess,
    mail: Smtp,
    db: AsyncDatabase[Any],
    http: httpx.AsyncClient,
) -> None:
    watcher, asker = uid("watcher"), uid("asker")
    repliers = [uid(f"replier{i}") for i in range(5)]
    await early_in_a_period()
    thread, events = thread_events(asker, repliers, 50)
    r = await http.put(
        f"{service.url}/me/follows/thread/{thread}",
        json={"level": "watching"},
        headers=auth(watcher),
    )
    assert r.status_code == 200, r.text
    await produce(servers.kafka, events, topics.FORUM_EVENTS)

    async def decided() -> list[dict[str, Any]] | None:
        docs = await db.notifications.find({"recipient": watcher}).to_list(None)
        # the new thread itself (watched before it existed) and its 50 replies
        return docs if len(docs) == 51 else None

    notes = await eventually(decided, timeout=60)
    delivered_by_email = [n for n in notes if "email" in n.get("channels", [])]
    held = [n for n in notes if n.get("in_digest")]
    assert 0 < len(delivered_by_email) <= 7  # balanced: 7 emails a week
    assert len(held) == 51 - sum(bool(n.get("channels")) for n in notes) > 0

    async def digest_sent() -> list[Any] | None:
        got = mails_to(mail, watcher, "digest")
        return got or None

    digests = await eventually(digest_sent, timeout=120)
    await asyncio.sleep(2)
    assert len(mails_to(mail, watcher, "digest")) == 1
    body = digests[0].get_body(preferencelist=("plain",)).get_content()
    replies_held = sum(
        n["kind"] == "watched_post" and n["group"].startswith("thread:") for n in held
    )
    assert f"{replies_held} x New reply in Printer on fire" in body
    assert f"{len(held)} updates" in digests[0]["Subject"]
    emails = mails_to(mail, watcher)
    assert len(emails) - 1 == len(delivered_by_email)  # the budget's emails + one digest
    # the inbox collapses them into one entry
    inbox = (await http.get(f"{service.url}/me/notifications", headers=auth(watcher))).json()
    assert sorted((e["count"], e["text"]) for e in inbox["items"]) == [
        (1, "New thread: Printer on fire"),
        (50, "50 new replies in Printer on fire"),
    ]
    budget = (
        await http.get(f"{service.url}/me/notifications/budget", headers=auth(watcher))
    ).json()
    assert sum(budget["held"].values()) == len(held)
    STATE["mail_count"] = len(mail.messages())


async def _caught_up(bootstrap: str, group: str) -> bool:
    c = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await c.start()
    try:
        committed = await positions(bootstrap, group)
        ends = await c.end_offsets(list(committed))
        return all(committed[tp] >= ends[tp] for tp in committed)
    finally:
        await c.stop()


async def _rewind(bootstrap: str, group: str, to: dict[TopicPartition, int]) -> None:
    c = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await c.start()
    try:
        c.assign(list(to))
        await c.commit(dict(to.items()))
    finally:
        await c.stop()


async def test_a_replay_of_the_topics_sends_nothing_again_and_nor_does_a_rebuild(
    servers: Servers,
    service: ServiceProcess,
    mail: Smtp,
    db: AsyncDatabase[Any],
    started_at: dict[TopicPartition, int],
) -> None:
    if "mail_count" not in STATE:
        pytest.skip("needs the burst test's mail")
    group = service.env["NOTIFICATIONS_CONSUMER_GROUP"]
    notes_before = await db.notifications.count_documents({})
    service.stop()
    # everything this service ever consumed, again (its group's start)
    await _rewind(servers.kafka, group, started_at)
    service.start()
    await eventually(lambda: _caught_up(servers.kafka, group), timeout=90)
    await asyncio.sleep(3 * 1.0)
    assert len(mail.messages()) == STATE["mail_count"]
    assert await db.notifications.count_documents({}) == notes_before

    # `make rebuild SERVICE=notifications`: from offset 0, into a fresh database, no mail
    env = {**os.environ, **service.env}
    run = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "notifications.rebuild", "--drop", "--wait", "60"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode in (0, 1), run.stderr
    assert "rebuild" in run.stdout
    await asyncio.sleep(2)
    assert len(mail.messages()) == STATE["mail_count"]


async def test_a_digest_is_sent_once_per_member_and_period_with_two_replicas(
    servers: Servers,
    service: ServiceProcess,
    mail: Smtp,
    db: AsyncDatabase[Any],
    http: httpx.AsyncClient,
) -> None:
    replica = notifications_process(servers, mail)
    replica.env.update(
        {k: v for k, v in service.env.items() if k not in ("NOTIFICATIONS_PUBLIC_URL",)}
    )
    replica.env["NOTIFICATIONS_PUBLIC_URL"] = replica.url
    replica.start()
    try:
        members = [uid("digester") for _ in range(8)]
        asker = uid("asker")
        batches = []
        for m in members:
            r = await http.put(
                f"{service.url}/me/preferences", json={"preset": "digest_only"}, headers=auth(m)
            )
            assert r.status_code == 200, r.text
        for i in range(4):
            thread, events = thread_events(asker, [uid("r")], 6, title=f"Thread {i}")
            for m in members:
                r = await http.put(
                    f"{replica.url}/me/follows/thread/{thread}",
                    json={"level": "watching"},
                    headers=auth(m),
                )
                assert r.status_code == 200
            batches.append(events)
        for events in batches:
            await produce(servers.kafka, events, topics.FORUM_EVENTS)

        async def all_sent() -> list[dict[str, Any]] | None:
            docs = await db.digests.find({"r": {"$in": members}}).to_list(None)
            items = sum(len(d.get("items", {})) for d in docs)
            done = all(d.get("status") == "sent" for d in docs)
            return docs if items == 8 * 4 * 7 and done else None  # 4 threads: 1 + 6 posts

        docs = await eventually(all_sent, timeout=150)
        await asyncio.sleep(2)
        for m in members:
            got = mails_to(mail, m, "digest")
            ids = sorted(x["Message-ID"] for x in got)
            assert len(ids) == len(set(ids)), "a digest was sent twice"
            assert len(got) == sum(1 for d in docs if d["r"] == m)
            assert not mails_to(mail, m, "watched_post")  # digest_only: no other email
    finally:
        replica.stop()
