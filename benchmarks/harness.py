"""What the benchmarks share (issue 28, item 5): the demo-shaped topic, time-boxed windows,
the kit's consumer and rebuild driven over a window, result rows and flame graphs.

``benchmarks/system.py`` keeps its scenarios and baselines; the pieces they run on live here so
that other benchmarks use them without importing a scenario module. The sizes are read from
the same ``BENCH_SYSTEM_*`` variables as before:

* ``BENCH_SYSTEM_EVENTS`` (1,000,000): events in the demo-shaped topic;
* ``BENCH_SYSTEM_WINDOW`` (15 s) and ``BENCH_SYSTEM_FILL`` (45 s): the two time-boxed windows
  of a catch-up (see :class:`Windows`);
* ``BENCH_PROFILE`` (1): py-spy flame graphs of the first run into
  ``benchmarks/results/flames/`` (ignored by git: generated, never committed).
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from faststream.kafka import KafkaBroker

from communitykit import rebuild as kit_rebuild
from communitykit.consumer import BatchConsumer, Received
from communitykit.kafka import Producer
from communitykit.outbox import OutboxRelay
from schemas import Envelope, new_event
from schemas.forum import AnswerAccepted, PostCreated, QuestionEscalated, VoteCast
from schemas.ideas import IdeaStatusChanged, IdeaSubmitted, IdeaVoteCast
from tests.servers import ROOT
from tools.demo.plan import community, iter_plan

EVENTS = int(os.environ.get("BENCH_SYSTEM_EVENTS", "1000000"))
WINDOW = float(os.environ.get("BENCH_SYSTEM_WINDOW", "15"))
FILL = float(os.environ.get("BENCH_SYSTEM_FILL", "45"))
PARTITIONS = 6
BATCH = 500
NAIVE = "naive consumer: one awaited update_one upsert per event"
RAW = "raw aiokafka consume + parse of the same records"
BOXED = "time-boxed {w:g} s window of a {n:,}-event topic"
PROFILE = os.environ.get("BENCH_PROFILE", "1") != "0"
RESULTS = ROOT / "benchmarks" / "results"

#: flame graphs already recorded in this run (one per name)
_profiled: set[str] = set()


def profile(pid: int, name: str, seconds: float) -> subprocess.Popen[bytes] | None:
    """py-spy (pinned in the dev lock) samples ``pid`` for ``seconds`` at 100 Hz into
    ``benchmarks/results/flames/flame-<name>.svg`` (ignored by git); only in the first run
    of a ``make bench``
    (``--nonblocking``: the target is never paused, so its figures barely move)."""
    if not PROFILE or name in _profiled:
        return None
    _profiled.add(name)
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    (RESULTS / "flames").mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [spy, "record", "--nonblocking", "-r", "100", "-d", str(int(seconds)),
         "-o", str(RESULTS / "flames" / f"flame-{name}.svg"), "--pid", str(pid)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip


def profiled(spy: subprocess.Popen[bytes] | None) -> None:
    if spy is not None:
        try:
            spy.wait(60)
        except subprocess.TimeoutExpired:
            spy.kill()


# --- the demo-shaped topic ----------------------------------------------------------------


def demo_events(n: int, seed: int = 1) -> Iterator[Envelope[Any]]:
    """The ``n`` events the demo's plan would make the services publish (reads publish
    none), one by one."""
    users = community(20_000, "")
    made = 0
    author: dict[str, str] = {}  # plan reference -> its author
    kind: dict[str, str] = {}  # post reference -> its kind
    thread_of: dict[str, str] = {}  # post reference -> thread reference
    status: dict[str, str] = {}
    asked: dict[str, datetime] = {}
    steps = iter_plan(seed, int(n * 2.5), users)  # about half the steps publish an event
    t0 = datetime.now(UTC) - timedelta(days=30)
    step = timedelta(days=30) / max(n, 1)
    for s in steps:
        if made >= n:
            break
        at = t0 + step * made
        a = s.args
        data: Any
        if s.action == "thread":
            ref, post = s.creates or "", f"{s.creates}.post"
            author[ref] = author[post] = s.user
            kind[post], thread_of[post] = a["kind"], ref
            asked[ref] = at
            data = PostCreated(
                post_id=post,
                thread_id=ref,
                kind=a["kind"],
                author_id=s.user,
                title=a["title"],
                tags=a["tags"],
                product_id=a.get("product_id"),
                rating=a.get("rating"),
                body_length=len(a["body"]),
                body=a["body"],
            )
            subject = ref
        elif s.action in ("reply", "support"):
            ref, tid = s.creates or "", s.needs[0]
            author[ref], kind[ref], thread_of[ref] = s.user, "reply", tid
            data = PostCreated(
                post_id=ref,
                thread_id=tid,
                parent_post_id=f"{tid}.post",
                kind="reply",
                author_id=s.user,
                body_length=len(a["body"]),
                body=a["body"],
            )
            subject = tid
        elif s.action == "vote":
            post = s.needs[0]
            tid = thread_of[post]
            data = VoteCast(
                target_id=post,
                thread_id=tid,
                target_kind=kind[post],
                target_author_id=author[post],
                voter_id=s.user,
                value=a["value"],
                previous_value=0 if a["value"] else 1,
            )
            subject = tid
        elif s.action == "accept":
            tid, answer = s.needs
            data = AnswerAccepted(
                thread_id=tid,
                answer_post_id=answer,
                answer_author_id=author[answer],
                question_author_id=s.user,
            )
            subject = tid
        elif s.action == "escalate":
            tid = s.needs[0]
            data = QuestionEscalated(
                thread_id=tid,
                question_author_id=s.user,
                asked_at=asked[tid],
                escalated_at=at,
                waited_seconds=int((at - asked[tid]).total_seconds()),
                reason="requested",
            )
            subject = tid
        elif s.action == "idea":
            ref = s.creates or ""
            author[ref], status[ref] = s.user, "new"
            data = IdeaSubmitted(
                idea_id=ref,
                author_id=s.user,
                title=a["title"],
                category=a["category"],
                product_area=a["product_area"],
                description=a["description"],
            )
            subject = ref
        elif s.action == "idea_vote":
            ref = s.needs[0]
            data = IdeaVoteCast(
                target_id=ref,
                target_author_id=author[ref],
                voter_id=s.user,
                value=a["value"],
                previous_value=0 if a["value"] else 1,
            )
            subject = ref
        elif s.action == "idea_status":
            ref = s.needs[0]
            data = IdeaStatusChanged(
                idea_id=ref,
                author_id=author[ref],
                from_status=status[ref],
                to_status=a["status"],
                changed_by=s.user,
            )
            status[ref] = a["status"]
            subject = ref
        else:
            continue
        made += 1
        yield new_event(data, subject=subject, actor_id=s.user, time=at)


async def create_topic(bootstrap: str, topic: str) -> None:
    """A bench topic with ``PARTITIONS`` partitions."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
    finally:
        await admin.close()


async def fill_topic(bootstrap: str, topic: str, n: int) -> float:
    await create_topic(bootstrap, topic)
    t = time.perf_counter()
    p = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        enable_idempotence=True,
        linger_ms=20,
        max_batch_size=512 * 1024,
    )
    await p.start()
    try:
        futs = []
        for e in demo_events(n):  # streamed: a million envelopes at once would be GBs
            futs.append(await p.send(topic, e.to_bytes(), key=e.key, headers=e.headers()))
            if len(futs) >= 20_000:
                await asyncio.gather(*futs)
                futs = []
        await asyncio.gather(*futs)
    finally:
        await p.stop()
    return time.perf_counter() - t


async def drop_topic(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics([topic])
    except Exception:  # noqa: BLE001 - best effort clean-up
        pass
    finally:
        await admin.close()


# --- windows ------------------------------------------------------------------------------


# --- windows ------------------------------------------------------------------------------


class Windows:
    """Counts events as a consumer applies them and marks two time-boxed windows: the first
    from the first batch, the second after ``FILL`` more seconds."""

    def __init__(self) -> None:
        self.n = 0
        self.t0: float | None = None
        self.marks: list[tuple[float, int]] = []
        self.done = asyncio.Event()

    def add(self, k: int) -> None:
        """``k`` more events applied. The windows start at the end of the first batch (its
        time before that is unknown)."""
        now = time.perf_counter()
        self.n += k
        if self.t0 is None:
            self.t0 = now
            self.marks.append((now, self.n))
            return
        edges = (WINDOW, WINDOW + FILL, 2 * WINDOW + FILL)
        while len(self.marks) <= len(edges) and now - self.t0 >= edges[len(self.marks) - 1]:
            self.marks.append((now, self.n))
        if len(self.marks) == 4:
            self.done.set()
        elif self.n >= EVENTS:  # the whole topic before the windows closed: one window
            self.marks[1:] = [(now, self.n)]
            self.done.set()

    def rates(self) -> list[tuple[int, float]]:
        """[(history at the window's start, events/s)] for the windows that completed."""
        m = self.marks
        out = []
        for a, b in ((0, 1), (2, 3)):
            if len(m) > b and m[b][0] > m[a][0]:
                out.append((m[a][1], (m[b][1] - m[a][1]) / (m[b][0] - m[a][0])))
        return out


async def wait_windows(w: Windows, timeout: float) -> None:
    try:
        await asyncio.wait_for(w.done.wait(), timeout)
    except TimeoutError:
        pass


class ToBenchTopic:
    """The relay's producer in the bench: what it publishes goes to a topic of the bench's
    own (the service's consumers of ``reputation.events`` on shared servers never see it)."""

    def __init__(self, producer: Producer, topic: str) -> None:
        self.producer, self.topic = producer, topic

    async def send(self, _topic: str, value: bytes, **kwargs: Any) -> asyncio.Future[Any]:
        return await self.producer.send(self.topic, value, **kwargs)


async def kit_catch_up(
    bootstrap: str,
    topic: str,
    apply: Callable[[Sequence[Received]], Awaitable[Any]],
    outbox: tuple[Any, Sequence[str]] | None = None,
) -> Windows:
    """The kit's consumer (FastStream batch subscriber, manual commits) with ``apply``; with
    ``outbox`` (a database and its outbox collections) the kit's relay runs beside it, woken
    after each batch, as in the service (the relay's writes share the store with ours)."""
    # as the kit's app builds it: a plain stdlib logger (INFO per batch goes nowhere here)
    logger = logging.getLogger("faststream.kafka")
    logger.setLevel(logging.WARNING)  # not a line per batch on the bench's console
    broker = KafkaBroker(bootstrap, allow_auto_create_topics=False, logger=logger)
    producer = Producer(bootstrap, "bench-system")
    w = Windows()
    relay: OutboxRelay | None = None
    out_topic = ""
    if outbox is not None:
        out_topic = f"{topic}-outbox-{uuid.uuid4().hex[:6]}"
        await create_topic(bootstrap, out_topic)
        relay = OutboxRelay(outbox[0], outbox[1], ToBenchTopic(producer, out_topic))  # type: ignore[arg-type]
        await relay.ensure_indexes()

    async def handler(batch: Sequence[Received]) -> None:
        await apply(batch)
        if relay is not None:
            relay.notify()
        w.add(len(batch))

    BatchConsumer(
        broker,
        [topic],
        group_id=f"bench-{uuid.uuid4().hex[:8]}",
        handler=handler,
        producer=producer,
        max_records=BATCH,
    )
    await producer.start()
    if relay is not None:
        relay.start()
    await broker.start()
    try:
        await wait_windows(w, 2 * WINDOW + FILL + 120)
    finally:
        await broker.stop()
        if relay is not None:
            await relay.stop()
            await drop_topic(bootstrap, out_topic)
        await producer.stop()
    return w


class TimeUp(Exception):
    pass


def boxed(
    apply: Callable[[Sequence[Received]], Awaitable[Any]], counter: list[float]
) -> Callable[[Sequence[Received]], Awaitable[Any]]:
    """``apply``, counting events into ``counter`` = [t0, n], raising TimeUp after WINDOW."""

    async def wrapped(batch: Sequence[Received]) -> Any:
        if not counter[0]:
            counter[0] = time.perf_counter()
        if time.perf_counter() - counter[0] > WINDOW:
            raise TimeUp
        out = await apply(batch)
        counter[1] += len(batch)
        counter[2] = time.perf_counter()
        return out

    return wrapped


async def kit_rebuild_rate(bootstrap: str, topic: str, apply: Any) -> float:
    """The kit's rebuild replay (no group, nothing committed or published), time-boxed."""
    until = await kit_rebuild.end_offsets(bootstrap, [topic])
    counter = [0.0, 0.0, 0.0]
    try:
        await kit_rebuild.replay(bootstrap, boxed(apply, counter), until)
    except TimeUp:
        pass
    return counter[1] / (counter[2] - counter[0]) if counter[2] > counter[0] else 0.0


# --- rows ---------------------------------------------------------------------------------


def row(
    scenario: str, size: str, metric: str, value: float, unit: str, baseline: str, base: float
) -> dict[str, Any]:
    return {
        "scenario": scenario,
        "size": size,
        "metric": metric,
        "value": round(value, 2),
        "unit": unit,
        "baseline": baseline,
        "baseline_value": round(base, 2) if base else None,
        "ratio": round(value / base, 3) if base else None,
    }


def catch_up_rows(
    name: str, w: Windows, raw: float, naive: float, unit: str = "events/s"
) -> list[dict[str, Any]]:
    """Per window: ours vs each baseline, and the history the window started from. Sizes
    are stable labels (the runner groups the repeats by scenario, size and metric)."""
    rows = []
    for i, (history, rate) in enumerate(w.rates()):
        label = "window 1, empty store" if i == 0 else f"window 2, after {FILL:g} s more"
        size = f"{label}; " + BOXED.format(w=WINDOW, n=EVENTS)
        scenario = f"{name}: catch-up"
        rows.append(row(scenario, size, "throughput vs raw", rate, unit, RAW, raw))
        rows.append(row(scenario, size, "throughput vs naive", rate, unit, NAIVE, naive))
        rows.append(row(scenario, size, "history at the window's start", history, "events", "-", 0))
    return rows


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the process's peak resident set size, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def summary(rows: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{r['scenario']:<60} {r['size']:<50} {r['value']:>10} {r['unit']}  ratio {r['ratio']}"
        for r in rows
    )
