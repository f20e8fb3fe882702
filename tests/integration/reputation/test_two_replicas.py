"""Two reputation replicas in one consumer group (issue 8): the events of one user arrive
through different partitions of both topics, so both replicas fold and write the same users'
day and profile documents concurrently; with a duplicated range on top, the result must be
exactly one ordered application of the events (the whole fold of every user's facts)."""

from __future__ import annotations

import asyncio
import random
import re
import uuid
from collections import defaultdict
from datetime import timedelta
from typing import Any

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient

from reputation.domain.facts import facts_of, removal_of
from reputation.domain.fold import fold
from schemas import Envelope, new_event, topics
from schemas.forum import AnswerAccepted, PostCreated, PostHidden, VoteCast
from schemas.ideas import IdeaStatusChanged, IdeaSubmitted, IdeaVoteCast

from ...conftest import ServiceProcess, eventually, from_end, service_env
from ...servers import Servers
from .events import T0, produce
from .test_exactly_once import users_of

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


def community(tag: str, seed: int = 8) -> tuple[list[Envelope[Any]], list[Envelope[Any]]]:
    """(forum events, ideas events): a few authors, many voters, three UTC days; votes
    changed on later days, serial voting, the daily cap, accepts, a hidden reply, ideas."""
    rng = random.Random(seed)
    authors = [f"author{i}-{tag}" for i in range(4)]
    voters = [f"voter{i}-{tag}" for i in range(14)]
    forum: list[Envelope[Any]] = []
    ideas: list[Envelope[Any]] = []
    posts: list[tuple[str, str, str, str]] = []  # (thread, post, kind, author)

    def at(day: int) -> Any:
        return T0 + timedelta(days=day, minutes=rng.randrange(24 * 60), seconds=rng.random())

    for n in range(16):
        author, thread = authors[n % 4], uuid.uuid4().hex
        post = uuid.uuid4().hex
        forum.append(
            new_event(
                PostCreated(
                    post_id=post,
                    thread_id=thread,
                    kind="question",
                    author_id=author,
                    title="Q",
                    body_length=9,
                ),
                subject=thread,
                time=at(0),
            )
        )
        posts.append((thread, post, "question", author))
        for _ in range(2):
            reply, replier = uuid.uuid4().hex, rng.choice(authors)
            forum.append(
                new_event(
                    PostCreated(
                        post_id=reply,
                        thread_id=thread,
                        parent_post_id=post,
                        kind="reply",
                        author_id=replier,
                        body_length=9,
                    ),
                    subject=thread,
                    time=at(0),
                )
            )
            posts.append((thread, reply, "reply", replier))
    for _ in range(300):
        thread, post, kind, author = rng.choice(posts)
        voter = rng.choice(voters)
        forum.append(
            new_event(
                VoteCast(
                    target_id=post,
                    thread_id=thread,
                    target_kind=kind,  # type: ignore[arg-type]
                    target_author_id=author,
                    voter_id=voter,
                    value=rng.choice([1, 1, 1, -1, 0]),  # type: ignore[arg-type]
                    previous_value=0,
                ),
                subject=thread,
                actor_id=voter,
                time=at(rng.randrange(3)),
            )
        )
    for thread, post, _kind, author in rng.sample([p for p in posts if p[2] == "reply"], 6):
        asker = next(a for t, _p, k, a in posts if t == thread and k == "question")
        forum.append(
            new_event(
                AnswerAccepted(
                    thread_id=thread,
                    answer_post_id=post,
                    answer_author_id=author,
                    question_author_id=asker,
                ),
                subject=thread,
                time=at(1),
            )
        )
    thread, post, _kind, author = next(p for p in posts if p[2] == "reply")
    forum.append(
        new_event(
            PostHidden(post_id=post, thread_id=thread, author_id=author, reason="spam"),
            subject=thread,
            time=at(2),
        )
    )
    for n in range(3):
        idea, author = uuid.uuid4().hex, authors[n]
        ideas.append(
            new_event(
                IdeaSubmitted(
                    idea_id=idea, author_id=author, title="I", category="c", product_area="a"
                ),
                subject=idea,
                time=at(0),
            )
        )
        for voter in rng.sample(voters, 12):
            ideas.append(
                new_event(
                    IdeaVoteCast(
                        target_id=idea,
                        target_author_id=author,
                        voter_id=voter,
                        value=1,
                        previous_value=0,
                    ),
                    subject=idea,
                    actor_id=voter,
                    time=at(rng.randrange(3)),
                )
            )
        ideas.append(
            new_event(
                IdeaStatusChanged(
                    idea_id=idea,
                    author_id=author,
                    from_status="new",
                    to_status="planned",
                    changed_by="s",
                ),
                subject=idea,
                time=at(2),
            )
        )
    return forum, ideas


def oracle(
    events: list[Envelope[Any]],
) -> dict[str, tuple[int, list[tuple[int, str, str]], dict[str, str]]]:
    facts = defaultdict(list)
    removals = [r for e in events if (r := removal_of(e))]
    for e in events:
        for f in facts_of(e):
            facts[f.user_id].append(f)
    out = {}
    for user, fs in facts.items():
        st = fold(user, fs, removals)
        out[user] = (
            st.reputation,
            [(x.delta, x.reason, x.source_event_id) for x in st.entries],
            st.badges,
        )
    return out


async def members(bootstrap: str, group: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_consumer_groups([group])
    finally:
        await admin.close()
    # DescribeGroups response: groups = [(error, group, state, type, protocol, members)]
    groups = described[0].groups if described else []
    return len(groups[0][5]) if groups else 0


async def consumed(http: httpx.AsyncClient, proc: ServiceProcess) -> float:
    text = (await http.get(f"{proc.url}/metrics")).text
    return sum(
        float(v) for v in re.findall(r"^messages_consumed_total\{[^}]*\} (\S+)$", text, re.M)
    )


async def test_two_replicas_equal_one_ordered_pass(
    servers: Servers, mongo: AsyncMongoClient[dict[str, Any]], http: httpx.AsyncClient
) -> None:
    forum, ideas = community(uuid.uuid4().hex[:6])
    env = service_env(servers, "reputation", suffix="two", REPUTATION_CONSUMER_MAX_RECORDS="60")
    db, group = env["REPUTATION_MONGODB_DATABASE"], env["REPUTATION_CONSUMER_GROUP"]
    replicas = [ServiceProcess("reputation", env), ServiceProcess("reputation", env)]
    await asyncio.to_thread(from_end, servers, replicas[0])
    try:
        for r in replicas:
            r.start()

        async def both_joined() -> bool:
            return await members(servers.kafka, group) == 2

        await eventually(both_joined, timeout=60)
        await produce(servers.kafka, forum, topics.FORUM_EVENTS)
        await produce(servers.kafka, ideas, topics.IDEAS_EVENTS)
        await produce(servers.kafka, forum[150:260], topics.FORUM_EVENTS)  # a duplicated range
        want = oracle(forum + ideas)

        async def converged() -> bool:
            got = await users_of(mongo, db, list(want))
            return {u: v[:2] for u, v in want.items()} == got

        await eventually(converged, timeout=240, interval=1)
        badges = {d["_id"]: d.get("badge_events", {}) async for d in mongo[db]["users"].find({})}
        assert {u: badges.get(u, {}) for u in want} == {u: v[2] for u, v in want.items()}
        counts = [await consumed(http, r) for r in replicas]
        assert all(c > 0 for c in counts), f"one replica consumed nothing: {counts}"
    finally:
        for r in replicas:
            r.stop()
