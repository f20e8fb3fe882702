"""The chaos suite (`make test-chaos`, marker ``chaos``; not part of `make test`).

* Servers of its own (:func:`tests.servers.private`): a Kafka broker and a FerretDB that
  this suite kills and restarts, on free ports in ``.run/chaos`` (never the shared ones).
* Per test a :class:`Stack`: the five services as real processes (``python -m <name>``
  through ``launch.py``), each with a database, consumer group and index of its own, the
  consumers starting at the end of the topics (the oracle folds from the same offsets).
* :class:`Load`: writes through the forum's and the ideas board's HTTP APIs only.
* :func:`verify`: waits until every consumer has applied everything on the topics, then
  compares every projection with the oracle (oracle.py) and records a row of the table
  printed at the end of the run (test, faults injected, events checked, differences).
"""

from __future__ import annotations

import asyncio
import random
import shutil
import signal
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpcore._synchronization
import httpx
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient

from communitykit.kafka import ensure_topics
from schemas import topics

from ..conftest import (
    CONSUMES,
    RUN_ID,
    Proc,
    ServiceProcess,
    auth,
    from_end,
    group_of,
    service_env,
)
from ..servers import ROOT, Servers, private
from . import oracle
from .zygote import zygote

HERE = Path(__file__).resolve().parent


def _httpcore_without_sniffio() -> None:
    """httpcore 1.0.9 imports the optional ``sniffio`` on every lock, event and semaphore
    it creates (several per request); anyio >= 4.11 no longer installs it, and Python does
    not cache a failed import, so each one scans sys.path (and pytest's import hooks) again
    (encode/httpcore#1103). In the overload test that was a third of the load generator's
    CPU: its event loop stalled for up to 0.6 s, and the shed answers it timed looked slow.
    This suite runs on asyncio only: answer that without the import."""
    try:
        import sniffio  # noqa: F401
    except ImportError:
        httpcore._synchronization.current_async_library = lambda: "asyncio"


_httpcore_without_sniffio()
CONSUMERS = ("reputation", "analytics", "search")
PRODUCERS = ("forum", "ideas")
ALL = (*PRODUCERS, *CONSUMERS)
OUTBOXES = {
    "forum": ("threads", "posts", "votes", "groups", "memberships"),
    "ideas": ("ideas", "comments"),
    "reputation": ("users",),
}


# ----------------------------------------------------------------------------- the table


@dataclass
class Row:
    test: str
    faults: str
    events: int
    differences: int


ROWS: list[Row] = []


def record(test: str, faults: str, events: int, differences: int) -> None:
    ROWS.append(Row(test, faults, events, differences))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not ROWS:
        return
    tr = terminalreporter
    tr.section("chaos: faults injected and oracle comparisons")
    w = max(len(r.test) for r in ROWS)
    f = max(len(r.faults) for r in ROWS)
    tr.write_line(f"{'test':<{w}} | {'faults injected':<{f}} | events checked | differences")
    tr.write_line(f"{'-' * w}-|-{'-' * f}-|----------------|------------")
    for r in ROWS:
        tr.write_line(f"{r.test:<{w}} | {r.faults:<{f}} | {r.events:>14} | {r.differences:>11}")


# ----------------------------------------------------------------------------- servers


@pytest.fixture(scope="session")
def chaos_servers() -> Iterator[Servers]:
    # the zygote imports every service while the servers start (it waits for neither)
    threading.Thread(target=zygote, name="zygote-start", daemon=True).start()
    s = private("chaos")
    print(f"\n[chaos] Kafka {s.kafka}, MongoDB {s.mongodb} ({s.source})")
    asyncio.run(ensure_topics(s.kafka))
    try:
        yield s
    finally:
        s.stop()


def faults_of(servers: Servers) -> Any:
    if servers.faults is None:
        pytest.skip(f"server faults are not supported for {servers.source}")
    return servers.faults


# ----------------------------------------------------------------------------- services


@dataclass
class Launched(ServiceProcess):
    """A service as ``python tests/chaos/launch.py <name>`` runs it (the fault points),
    forked from the session's zygote, which imported every service once: a restart takes
    no import (tests/chaos/zygote.py)."""

    def spawn(self, env: dict[str, str]) -> Proc:
        return zygote().spawn(self.name, env, self.log)


class Stack:
    """forum, ideas, reputation, analytics and search as real processes for one test."""

    def __init__(self, servers: Servers, suffix: str, **extra: str) -> None:
        self.servers = servers
        self.suffix = f"c{suffix}"
        self.index = ROOT / ".run" / "chaos" / f"search-{RUN_ID}-{self.suffix}"
        shutil.rmtree(self.index, ignore_errors=True)
        self.procs: dict[str, ServiceProcess] = {}
        #: where this stack's consumers started: the oracle folds from here
        self.origin: oracle.Offsets = {}
        for name in ALL:
            env = service_env(servers, name, self.suffix)
            env[f"{name.upper()}_CONSUMER_MAX_RECORDS"] = "50" if name != "search" else "200"
            if name == "search":
                env["SEARCH_INDEX_PATH"] = str(self.index)
                env["SEARCH_START_FROM"] = "latest"  # recorded as the index's origin
            env.update(extra)  # another service's variables are ignored by this one
            self.procs[name] = Launched(name, env)

    def __getitem__(self, name: str) -> ServiceProcess:
        return self.procs[name]

    def db(self, name: str) -> str:
        return self.procs[name].env[f"{name.upper()}_MONGODB_DATABASE"]

    def start(self, *names: str) -> None:
        if not self.origin:
            # the consumers start at the end of the topics (the history of earlier tests is
            # not theirs) and the oracle folds from the same offsets
            from_end(self.servers, *self.procs.values())
            self.origin = asyncio.run(oracle.end_offsets(self.servers.kafka))
        names = names or ALL
        # all at once: one at a time, five services' imports took a fifth of a short test
        with ThreadPoolExecutor(len(names)) as pool:
            list(pool.map(lambda n: self.procs[n].start(timeout=120), names))

    def stop(self) -> None:
        with ThreadPoolExecutor(len(ALL)) as pool:
            list(pool.map(lambda p: p.stop(), self.procs.values()))


@pytest.fixture
def stack_factory(chaos_servers: Servers) -> Iterator[Any]:
    made: list[Stack] = []

    def make(**extra: str) -> Stack:
        s = Stack(chaos_servers, uuid.uuid4().hex[:6], **extra)
        made.append(s)
        return s

    try:
        yield make
    finally:
        for s in made:
            s.stop()
            shutil.rmtree(s.index, ignore_errors=True)


# ----------------------------------------------------------------------------- load


@dataclass
class Write:
    """One write request and what came back (status 0: no response at all)."""

    op: str
    status: int
    ids: dict[str, str]
    seconds: float
    retry_after: str | None = None
    #: when it was sent (``time.monotonic()``)
    started: float = 0.0


@dataclass
class Load:
    """Community traffic through the forum's and the ideas board's HTTP APIs.

    Each (voter, target) pair votes once and each question is accepted at most once, so
    every 2xx write has exactly one event (tests/chaos/test_producers.py relies on it)."""

    stack: Stack
    seed: int = 1
    users: int = 10
    writes: list[Write] = field(default_factory=list)
    threads: list[dict[str, Any]] = field(default_factory=list)
    ideas: list[dict[str, Any]] = field(default_factory=list)
    voted: set[tuple[str, str]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        tag = uuid.uuid4().hex[:4]
        self.people = [f"u{i}-{tag}" for i in range(self.users)]
        self.staff = f"staff-{tag}"

    async def run(self, seconds: float, concurrency: int = 3, timeout: float = 10) -> None:
        deadline = time.monotonic() + seconds
        async with httpx.AsyncClient(timeout=timeout) as http:

            async def worker() -> None:
                while time.monotonic() < deadline:
                    await self.one(http)

            await asyncio.gather(*(worker() for _ in range(concurrency)))

    async def _call(
        self,
        http: httpx.AsyncClient,
        op: str,
        method: str,
        url: str,
        user: str,
        body: Any,
        *roles: str,
    ) -> tuple[int, Any]:
        t0 = time.monotonic()
        status, data, retry_after = 0, None, None
        try:
            r = await http.request(method, url, json=body, headers=auth(user, *roles))
            status, retry_after = r.status_code, r.headers.get("retry-after")
            if r.content and r.headers.get("content-type", "").startswith("application/json"):
                data = r.json()
        except httpx.HTTPError:
            await asyncio.sleep(0.2)  # the service is down: do not spin
        ids = {"user": user, **{k: str(v) for k, v in (body or {}).items() if k.endswith("_id")}}
        ids.update(
            {k: v for k, v in (data or {}).items() if isinstance(v, str) and k.endswith("_id")}
        )
        ids["url"] = url
        self.writes.append(Write(op, status, ids, time.monotonic() - t0, retry_after, t0))
        return status, data

    async def one(self, http: httpx.AsyncClient) -> None:
        forum, ideas = self.stack["forum"].url, self.stack["ideas"].url
        who = self.rng.choice(self.people)
        roll = self.rng.random()
        if roll < 0.15 or not self.threads:
            n = len(self.threads)
            status, data = await self._call(
                http,
                "thread",
                "POST",
                f"{forum}/threads",
                who,
                {
                    "kind": "question",
                    "title": f"Router {n} keeps blinking {who}",
                    "body": f"Question {n}: the light blinks orange after a reset.",
                },
            )
            if 200 <= status < 300 and data:
                self.threads.append({**data, "author": who, "replies": [], "accepted": False})
        elif roll < 0.35:
            t = self.rng.choice(self.threads)
            status, data = await self._call(
                http,
                "reply",
                "POST",
                f"{forum}/threads/{t['thread_id']}/replies",
                who,
                {"body": f"Try holding the button for ten seconds ({who})."},
            )
            if 200 <= status < 300 and data:
                t["replies"].append({"post_id": data["post_id"], "author": who})
        elif roll < 0.6:
            t = self.rng.choice(self.threads)
            posts = [
                (t["post_id"], t["author"]),
                *((r["post_id"], r["author"]) for r in t["replies"]),
            ]
            post, author = self.rng.choice(posts)
            if author == who or (post, who) in self.voted:
                return
            self.voted.add((post, who))
            await self._call(http, "vote", "PUT", f"{forum}/posts/{post}/vote", who, {"value": 1})
        elif roll < 0.7:
            open_ = [t for t in self.threads if not t["accepted"] and t["replies"]]
            if not open_:
                return
            t = self.rng.choice(open_)
            answer = self.rng.choice(t["replies"])
            t["accepted"] = True
            await self._call(
                http,
                "accept",
                "PUT",
                f"{forum}/threads/{t['thread_id']}/accepted-answer",
                t["author"],
                {"post_id": answer["post_id"]},
            )
        elif roll < 0.8 or not self.ideas:
            status, data = await self._call(
                http,
                "idea",
                "POST",
                f"{ideas}/ideas",
                who,
                {
                    "title": f"Dark mode {len(self.ideas)} {who}",
                    "description": "Easier at night.",
                    "category": "ui",
                    "product_area": "app",
                },
            )
            if 200 <= status < 300 and data:
                self.ideas.append({**data, "author": who, "planned": False})
        elif roll < 0.92:
            i = self.rng.choice(self.ideas)
            if i["author"] == who or (i["idea_id"], who) in self.voted:
                return
            self.voted.add((i["idea_id"], who))
            await self._call(
                http, "idea-vote", "PUT", f"{ideas}/ideas/{i['idea_id']}/vote", who, {"value": 1}
            )
        elif roll < 0.96:
            i = self.rng.choice(self.ideas)
            await self._call(
                http,
                "comment",
                "POST",
                f"{ideas}/ideas/{i['idea_id']}/comments",
                who,
                {"body": "Yes please"},
            )
        else:
            todo = [i for i in self.ideas if not i["planned"]]
            if not todo:
                return
            i = self.rng.choice(todo)
            i["planned"] = True
            await self._call(
                http,
                "status",
                "PUT",
                f"{ideas}/ideas/{i['idea_id']}/status",
                self.staff,
                {"status": "under_review", "note": "looking"},
                "staff",
            )

    def ok(self) -> list[Write]:
        return [w for w in self.writes if 200 <= w.status < 300]


# ----------------------------------------------------------------------------- settle + verify


async def committed(bootstrap: str, group: str) -> dict[TopicPartition, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        got = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {tp: m.offset for tp, m in got.items() if m.offset >= 0}


def search_position(stack: Stack) -> dict[TopicPartition, int]:
    try:
        _, meta, _ = oracle.search_live(str(stack.index))
    except Exception:  # noqa: BLE001 - no index committed yet
        return {}
    return {
        TopicPartition(t, int(p)): int(off)
        for t, parts in (meta.get("offsets") or {}).items()
        for p, off in parts.items()
    }


async def outbox_pending(mongo: AsyncMongoClient[dict[str, Any]], stack: Stack, name: str) -> int:
    n = 0
    for coll in OUTBOXES[name]:
        n += await mongo[stack.db(name)][coll].count_documents({"outbox_len": {"$gt": 0}})
    return n


async def settle(
    stack: Stack, mongo: AsyncMongoClient[dict[str, Any]], timeout: float = 180
) -> oracle.Offsets:
    """Wait until every outbox is empty and every consumer has applied everything on the
    topics (committed offsets, the search index's stored position), twice in a row with the
    same end offsets; return them."""
    bootstrap = stack.servers.kafka
    deadline = time.monotonic() + timeout
    last: oracle.Offsets | None = None
    while True:
        ends = await oracle.end_offsets(bootstrap)
        #: what is not done yet: the outbox or consumer and how far behind it is
        behind: list[str] = []
        for name in ("forum", "ideas", "reputation"):
            if stack[name].proc and (n := await outbox_pending(mongo, stack, name)):
                behind.append(f"{name} outbox: {n} documents")
        positions = {
            name: await committed(bootstrap, group_of(stack[name]))
            for name in ("reputation", "analytics")
        }
        positions["search"] = search_position(stack)
        for name, got in positions.items():
            lag = {
                f"{tp.topic}/{tp.partition}": end - got.get(tp, 0)
                for tp, end in ends.items()
                if tp.topic in CONSUMES[name] and end > 0 and got.get(tp, 0) < end
            }
            if lag:
                behind.append(f"{name} {sum(lag.values())} behind {lag}")
        done = not behind
        if done and ends == last:
            return ends
        last = ends if done else None
        if time.monotonic() > deadline:
            for p in stack.procs.values():  # launch.py: every asyncio task's stack to the log
                if p.proc and p.proc.poll() is None:
                    p.proc.send_signal(signal.SIGUSR1)
            what = "; ".join(behind) or "the topics still grow"
            raise AssertionError(
                f"the consumers did not catch up within {timeout}s: {what} "
                f"(task stacks in the services' logs: {[str(p.log) for p in stack.procs.values()]})"
            )
        await asyncio.sleep(1)


@dataclass
class Verdict:
    events: int
    lines: list[str]

    @property
    def differences(self) -> int:
        return oracle.count_differences(self.lines)


async def compare(
    stack: Stack,
    mongo: AsyncMongoClient[dict[str, Any]],
    until: oracle.Offsets,
    services: tuple[str, ...] = CONSUMERS,
    per_service_until: dict[str, oracle.Offsets] | None = None,
) -> Verdict:
    """Oracle vs. live for ``services``: each folded from the records below ``until`` (or
    below its own entry of ``per_service_until``)."""
    records = await oracle.read(stack.servers.kafka, until, stack.origin)
    lines: list[str] = []
    checked: set[str] = set()
    for name in services:
        mine = oracle.below(records, (per_service_until or {}).get(name, until))
        events = oracle.distinct(mine, CONSUMES[name])
        checked |= {r.event.id for r in events}
        if name == "reputation":
            want = oracle.reputation_oracle(events)
            got = await oracle.reputation_live(mongo, stack.db("reputation"))
            lines += oracle.differences(want, got, "reputation user")
        elif name == "analytics":
            lines += oracle.analytics_differences(
                oracle.analytics_oracle(events),
                await oracle.analytics_live(mongo, stack.db("analytics")),
            )
        elif name == "search":
            got, _, twice = oracle.search_live(str(stack.index))
            lines += oracle.differences(oracle.search_oracle(events), got, "search document")
            lines += [f"search document {k!r} stored twice" for k in twice]
    return Verdict(len(checked), lines)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def cmongo(chaos_servers: Servers) -> AsyncIterator[AsyncMongoClient[dict[str, Any]]]:
    """A client of the chaos servers' store (it reconnects by itself after a restart)."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        chaos_servers.mongodb, tz_aware=True, serverSelectionTimeoutMS=30000
    )
    yield client
    await client.close()


async def rewind(bootstrap: str, group: str, names: list[str], to: oracle.Offsets) -> None:
    """Commit the offsets ``to`` on every partition of ``names`` for ``group`` (stopped
    first): its next run redelivers everything from there."""
    c = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await c.start()
    try:
        tps = [TopicPartition(t, p) for t in names for p in range(topics.EVENT_TOPIC_PARTITIONS)]
        c.assign(tps)
        await c.commit({tp: to.get(tp, 0) for tp in tps})
    finally:
        await c.stop()


async def republish(bootstrap: str, records: list[oracle.Record]) -> int:
    """Publish ``records`` again, byte for byte (same key, value, headers): what an outbox
    relay that died between publishing and marking does."""
    p = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, linger_ms=5)
    await p.start()
    try:
        futs = [await p.send(r.topic, r.value, key=r.key, headers=list(r.headers)) for r in records]
        await asyncio.gather(*futs)
    finally:
        await p.stop()
    return len(records)


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Chaos tests run only when selected (``-m chaos``): never in the default run."""
    expr = config.option.markexpr or ""
    wanted = "chaos" in expr and "not chaos" not in expr
    if wanted:
        for item in items:
            if item.get_closest_marker("chaos") and not item.get_closest_marker("timeout"):
                item.add_marker(pytest.mark.timeout(900))  # restarts on a busy machine
        return
    keep, drop = [], []
    for item in items:
        (drop if item.get_closest_marker("chaos") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
