"""kill -9 during indexing → after a restart the index equals a rebuild; poison → DLQ.

The events are produced straight to forum.events / ideas.events (thousands of them, with
duplicates the way an at-least-once relay may publish them), the search service indexes
them in small batches and is killed with SIGKILL in the middle, then restarted on the same
index directory. Every document must then hold exactly what one ordered pass gives, with no
document twice, and ``python -m search.rebuild`` must report rebuild == live.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import uuid
from typing import Any

import pytest
import tantivy
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from schemas import Envelope, new_event, topics
from schemas.forum import AnswerAccepted, PostCreated, PostDeleted, PostEdited
from schemas.ideas import IdeasMerged, IdeaSubmitted
from search.adapters.index import SCHEMA, SearchIndex
from search.domain import documents

from ...conftest import ServiceProcess, eventually
from ...servers import Servers
from .conftest import index_path, search_process

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

THREADS = 300


def script(tag: str) -> list[Envelope[Any]]:
    out: list[Envelope[Any]] = []
    for n in range(THREADS):
        tid = f"{tag}-t{n}"
        opening, reply = f"{tid}-p0", f"{tid}-p1"

        def ev(data: Any, subject: str = tid) -> None:
            out.append(new_event(data, subject=subject))

        body = f"question {tag} number {n}"
        ev(
            PostCreated(
                post_id=opening,
                thread_id=tid,
                kind="question",
                author_id="a",
                title=f"Thread {n} {tag}",
                body_length=len(body),
                body=body,
            )
        )
        ev(
            PostCreated(
                post_id=reply,
                thread_id=tid,
                parent_post_id=opening,
                kind="reply",
                author_id="b",
                body_length=5,
                body=f"reply {n}",
            )
        )
        ev(
            PostEdited(
                post_id=opening,
                thread_id=tid,
                editor_id="a",
                fields=["body"],
                body=f"edited {tag} {n}",
            )
        )
        if n % 5 == 0:
            ev(
                PostDeleted(
                    post_id=reply, thread_id=tid, author_id="b", deleted_by="b", kind="reply"
                )
            )
        elif n % 7 == 0:
            ev(
                AnswerAccepted(
                    thread_id=tid,
                    answer_post_id=reply,
                    answer_author_id="b",
                    question_author_id="a",
                )
            )
        if n % 11 == 0:
            out.append(out[-2])  # a duplicate publish, as an at-least-once relay may do
    for n in range(0, THREADS // 10):
        iid = f"{tag}-i{n}"
        out.append(
            new_event(
                IdeaSubmitted(
                    idea_id=iid,
                    author_id="c",
                    title=f"Idea {n} {tag}",
                    category="c",
                    product_area="p",
                    description=f"idea {tag}",
                ),
                subject=iid,
            )
        )
        if n % 2:
            out.append(
                new_event(
                    IdeasMerged(
                        source_idea_id=iid,
                        target_idea_id=f"{tag}-i0",
                        moved_votes=0,
                        source_author_id="c",
                        target_author_id="c",
                    ),
                    subject=iid,
                )
            )
    return out


def expected(events: list[Envelope[Any]]) -> dict[str, dict[str, Any]]:
    """One ordered, duplicate-free pass (per document, which is all the order Kafka keeps)."""
    states: dict[str, dict[str, Any]] = {}
    seen: set[str] = set()
    for e in events:
        if e.id in seen:
            continue
        seen.add(e.id)
        key = documents.key_of(e.data)
        assert key is not None
        documents.apply(states.setdefault(key, documents.new_state(key)), e.data)
    return states


async def produce(bootstrap: str, events: list[Envelope[Any]], poison_key: bytes) -> None:
    p = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, linger_ms=5)
    await p.start()
    try:
        futs = []
        for i, e in enumerate(events):
            topic = topics.IDEAS_EVENTS if e.source.endswith("/ideas") else topics.FORUM_EVENTS
            futs.append(await p.send(topic, e.to_bytes(), key=e.key, headers=e.headers()))
            if i == len(events) // 2:
                futs.append(await p.send(topics.FORUM_EVENTS, b"{not json", key=poison_key))
        await asyncio.gather(*futs)
    finally:
        await p.stop()


def indexed(path: str, keys: list[str]) -> tuple[dict[str, dict[str, Any]], dict[str, int]]:
    """The states of ``keys`` in the index on disk, and how many documents each key has."""
    live = SearchIndex.open_readonly(path)
    live.index.reload()
    searcher = live.searcher()
    counts = {
        k: len(searcher.search(tantivy.Query.term_query(SCHEMA, "key", k), 3).hits) for k in keys
    }
    return live.load(keys), counts


async def dlq_records(bootstrap: str, since: dict[TopicPartition, int]) -> list[Any]:
    c = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await c.start()
    try:
        c.assign(list(since))
        for tp, off in since.items():
            c.seek(tp, off)
        batch = await c.getmany(timeout_ms=2000)
        return [r for records in batch.values() for r in records]
    finally:
        await c.stop()


async def dlq_end(bootstrap: str) -> dict[TopicPartition, int]:
    c = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await c.start()
    try:
        tps = [TopicPartition(topics.dlq(topics.FORUM_EVENTS), 0)]
        return dict(await c.end_offsets(tps))
    finally:
        await c.stop()


async def test_kill_9_while_indexing_then_index_equals_rebuild(servers: Servers) -> None:
    tag = "k" + uuid.uuid4().hex[:8]
    events = script(tag)
    want = expected(events)
    # small batches: many commits, so the kill lands between two of them
    svc: ServiceProcess = search_process(servers, tag, SEARCH_CONSUMER_MAX_RECORDS="40")
    path = str(index_path(svc))
    poison_key = f"{tag}-poison".encode()
    dlq_from = await dlq_end(servers.kafka)
    svc.start()
    try:
        await produce(servers.kafka, events, poison_key)

        async def partly() -> bool:
            states, _ = await asyncio.to_thread(indexed, path, list(want))
            return len(states) > 0

        await eventually(partly, timeout=60, interval=0.05)
        svc.kill()  # SIGKILL: no shutdown, no final commit
        states, _ = await asyncio.to_thread(indexed, path, list(want))
        print(f"\n[search] killed with {len(states)}/{len(want)} documents indexed")

        svc.start()

        async def complete() -> bool:
            got, _ = await asyncio.to_thread(indexed, path, list(want))
            return len(got) == len(want)

        await eventually(complete, timeout=120, interval=0.3)
        got, counts = await asyncio.to_thread(indexed, path, list(want))
        assert got == want  # nothing lost, nothing applied twice
        assert set(counts.values()) == {1}  # no document twice

        env = {**os.environ, **svc.env}
        r = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "search.rebuild", "--wait", "60"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        print(r.stdout[-1500:], r.stderr[-1500:])
        assert r.returncode == 0, r.stdout + r.stderr
        assert "rebuild == live" in r.stdout

        dead = [x for x in await dlq_records(servers.kafka, dlq_from) if x.key == poison_key]
        headers = [dict(x.headers) for x in dead]
        assert any(
            h.get("dlq-consumer-group") == svc.env["SEARCH_CONSUMER_GROUP"].encode()
            for h in headers
        ), headers
    finally:
        svc.stop()
        shutil.rmtree(path, ignore_errors=True)
