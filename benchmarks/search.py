"""Search benchmarks (issue 12): catch-up indexing rate, and GET /search latency at 100k posts.

Both against a same-run baseline, on the same machine and the same data:

* **catch-up indexing**: the real search service (``python -m search``, its Kafka batch
  consumer, the projection, one commit per batch) indexing ``SEARCH_BENCH_POSTS`` posts
  (default 100,000: threads of one question and three replies) from a topic of its own,
  from offset 0; rate = posts indexed ÷ time from its first to its last commit. Baseline:
  the same documents added straight to a tantivy index with one writer and one commit.
  Target ≥ 5,000 posts/s.
* **GET /search p99** over HTTP against that service, once the index holds every post;
  baseline: the library's own query on the same index (``parse_query_lenient`` on the
  same fields, top 20, stored documents fetched), the same query strings, each right after
  the HTTP request. Targets: p99 ≤ 30 ms and ≤ 2x the baseline. Two more rows say where the
  time goes: the query layer in-process (no HTTP) and ``GET /healthz`` (HTTP, no query).
* **peak RSS during catch-up** (issue 28, target ≤ 150 MB): the service process's
  ``VmHWM`` (``/proc/<pid>/status``) once it has indexed every post; baseline: the same
  service started on an empty topic, ready and idle (what the process costs before it
  indexes anything).

``run(servers)`` returns rows ``{"scenario", "size", "metric", "value", "unit", "baseline",
"baseline_value", "ratio"}`` (ratio = value ÷ baseline_value); ``python -m benchmarks.search``
prints them. Nothing is written to the shared topics: the posts go to ``bench.search.<id>``,
deleted at the end.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from communitykit.kafka import ensure_topics  # noqa: E402
from schemas import Envelope, new_event  # noqa: E402
from schemas.forum import PostCreated  # noqa: E402
from search.adapters.index import SearchIndex, doc_state, to_document  # noqa: E402
from search.adapters.queries import Filters  # noqa: E402
from search.domain import documents  # noqa: E402
from search.service import SearchService  # noqa: E402

POSTS = int(os.environ.get("SEARCH_BENCH_POSTS", "100000"))
QUERIES = int(os.environ.get("SEARCH_BENCH_QUERIES", "400"))
#: seconds between the end of catch-up and the latency measurement (background merges)
SETTLE = float(os.environ.get("SEARCH_BENCH_SETTLE", "20"))
REPLIES_PER_THREAD = 3
SEED = 12


def vocabulary(rng: random.Random, n: int = 6000) -> list[str]:
    syllables = [
        "ro",
        "ut",
        "er",
        "wi",
        "fi",
        "th",
        "erm",
        "os",
        "tat",
        "pr",
        "in",
        "ta",
        "ble",
        "con",
        "fig",
        "up",
        "date",
        "net",
        "work",
        "sig",
        "nal",
        "bat",
        "te",
        "ry",
        "app",
        "sync",
        "ca",
        "me",
        "ra",
        "lo",
        "gin",
        "pa",
        "ss",
        "word",
    ]
    words: set[str] = set()
    while len(words) < n:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    return sorted(words)


class Text:
    """Zipf-like random text (a few words are common, most are rare), reproducible."""

    def __init__(self, seed: int) -> None:
        self.words = vocabulary(random.Random(SEED))  # one vocabulary for posts and queries
        self.rng = random.Random(seed)
        # cumulative once (``choices`` would add the 6,000 weights up on every call)
        self.cum_weights = list(itertools.accumulate(1 / (i + 1) for i in range(len(self.words))))

    def sentence(self, lo: int, hi: int) -> str:
        k = self.rng.randint(lo, hi)
        return " ".join(self.rng.choices(self.words, cum_weights=self.cum_weights, k=k))


def posts(n: int, text: Text) -> list[Envelope[Any]]:
    out: list[Envelope[Any]] = []
    per = 1 + REPLIES_PER_THREAD
    for t in range(n // per):
        tid = f"b{t}"
        body = text.sentence(20, 60)
        out.append(
            new_event(
                PostCreated(
                    post_id=f"{tid}-0",
                    thread_id=tid,
                    kind="question",
                    author_id=f"u{t % 500}",
                    title=text.sentence(4, 9),
                    tags=[f"tag{t % 40}"],
                    body_length=len(body),
                    body=body,
                ),
                subject=tid,
            )
        )
        for r in range(1, per):
            body = text.sentence(10, 40)
            out.append(
                new_event(
                    PostCreated(
                        post_id=f"{tid}-{r}",
                        thread_id=tid,
                        parent_post_id=f"{tid}-0",
                        kind="reply",
                        author_id=f"u{(t + r) % 500}",
                        body_length=len(body),
                        body=body,
                    ),
                    subject=tid,
                )
            )
    return out


def queries(text: Text, n: int) -> list[str]:
    """Realistic query strings: 1-4 words, some with a typo, some quoted phrases."""
    out = []
    for i in range(n):
        words = text.sentence(1, 4).split()
        if i % 5 == 0:  # a typo: two letters swapped
            w = words[0]
            if len(w) > 4:
                words[0] = w[:2] + w[3] + w[2] + w[4:]
        q = " ".join(words)
        if i % 7 == 0 and len(words) > 1:
            q = f'"{words[0]} {words[1]}"'
        out.append(q)
    return out


async def produce(bootstrap: str, topic: str, events: list[Envelope[Any]]) -> None:
    p = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        enable_idempotence=True,
        linger_ms=20,
        max_batch_size=512 * 1024,
    )
    await p.start()
    try:
        futs = [await p.send(topic, e.to_bytes(), key=e.key, headers=e.headers()) for e in events]
        await asyncio.gather(*futs)
    finally:
        await p.stop()


def bare_indexing(events: list[Envelope[Any]], path: str) -> float:
    """Baseline: the same final documents, added straight to tantivy, one commit."""
    states: dict[str, dict[str, Any]] = {}
    for e in events:
        key = documents.key_of(e.data)
        assert key
        documents.apply(states.setdefault(key, documents.new_state(key)), e.data)
    index = SearchIndex(path)
    t = time.perf_counter()
    w = index.index.writer(heap_size=64_000_000, num_threads=1)
    for key, state in states.items():
        w.add_document(to_document(key, state))
    w.commit()
    took = time.perf_counter() - t
    w.wait_merging_threads()
    return took


def start_service(
    bootstrap: str, mongodb: str, topic: str, path: str, port: int, log: Path
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "MONGODB_URL": mongodb,
        "LOG_LEVEL": "WARNING",
        "SEARCH_PORT": str(port),
        "SEARCH_INDEX_PATH": path,
        "SEARCH_SOURCE_TOPICS": topic,
        "SEARCH_START_FROM": "earliest",
        "SEARCH_CONSUMER_GROUP": f"bench-search-{uuid.uuid4().hex[:6]}",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "search"],
        env=env,
        stdout=open(log, "ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


class Position:
    """How many records the index on disk covers (one reader, reloaded on each look)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.index: SearchIndex | None = None

    def __call__(self) -> int:
        if self.index is None:
            try:
                self.index = SearchIndex.open_readonly(self.path)
            except (FileNotFoundError, ValueError):
                return 0
        self.index.index.reload()
        offsets = self.index.meta().get("offsets", {})
        return sum(o for parts in offsets.values() for o in parts.values())


async def catch_up(path: str, total: int, proc: subprocess.Popen[bytes]) -> tuple[float, int]:
    """Seconds from the first commit that indexed posts to the one that indexed the last,
    and how many posts those commits covered."""
    position = Position(path)
    first_t, first_n = 0.0, 0
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the search service exited; see its log")
        n = await asyncio.to_thread(position)
        now = time.perf_counter()
        if n and not first_n:
            first_t, first_n = now, n
        if n >= total:
            return now - first_t, total - first_n
        await asyncio.sleep(0.1)
    raise RuntimeError("catch-up did not finish in 15 minutes")


def memory_mb(pid: int, field: str) -> float:
    """``VmHWM`` (peak resident set) or ``VmRSS`` of a process, in MB (Linux /proc)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for process {pid}")


async def idle_rss(bootstrap: str, mongodb: str, work: Path) -> float:
    """Baseline: the RSS of the service on an empty topic of its own, ready and idle."""
    topic = f"bench.search.idle.{uuid.uuid4().hex[:8]}"
    await ensure_topics(bootstrap, [topic])
    port = _free_port()
    proc = start_service(bootstrap, mongodb, topic, str(work / "idle"), port, work / "idle.log")
    try:
        await asyncio.to_thread(_wait_ready, f"http://127.0.0.1:{port}")
        await asyncio.sleep(2)
        return memory_mb(proc.pid, "VmRSS")
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        await _delete_topic(bootstrap, topic)


def percentile(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def latencies(
    url: str, path: str, qs: list[str]
) -> tuple[list[float], list[float], list[float], list[float]]:
    """Per query string, GET /search over HTTP and the baseline, one right after the other
    (so both see the same machine load): the library's own query parser on the same fields,
    top 20, the stored documents fetched, on the same index opened read-only."""
    live = SearchIndex.open_readonly(path)
    live.index.reload()
    fields = ["title", "body", "accepted", "replies"]

    def bare(q: str) -> None:
        searcher = live.searcher()
        query, _errors = live.index.parse_query_lenient(q, fields)
        for _score, addr in searcher.search(query, 20, count=False).hits:
            doc_state(searcher.doc(addr))

    service = SearchService(live)
    api: list[float] = []
    base: list[float] = []
    layer: list[float] = []
    floor: list[float] = []
    with httpx.Client(timeout=30) as c:
        for i, q in enumerate(qs[:20] + qs):  # the first 20: warm-up
            t = time.perf_counter()
            r = c.get(f"{url}/search", params={"q": q, "limit": 20})
            t1 = time.perf_counter()
            bare(q)
            t2 = time.perf_counter()
            service.search(q, Filters(), limit=20)
            t3 = time.perf_counter()
            c.get(f"{url}/healthz")
            t4 = time.perf_counter()
            assert r.status_code == 200, r.text
            if i >= 20:
                api.append(t1 - t)
                base.append(t2 - t1)
                layer.append(t3 - t2)
                floor.append(t4 - t3)
    return api, base, layer, floor


def row(
    scenario: str, size: int, metric: str, value: float, unit: str, baseline: str, base: float
) -> dict[str, Any]:
    return {
        "scenario": scenario,
        "size": size,
        "metric": metric,
        "value": round(value, 3),
        "unit": unit,
        "baseline": baseline,
        "baseline_value": round(base, 3),
        "ratio": round(value / base, 3) if base else None,
    }


async def run(servers: Any) -> list[dict[str, Any]]:
    text = Text(SEED)
    events = posts(POSTS, text)
    qs = queries(Text(SEED + 1), QUERIES)
    n = len(events)
    topic = f"bench.search.{uuid.uuid4().hex[:8]}"
    work = Path(tempfile.mkdtemp(prefix="bench-search-"))
    path, bare_path = str(work / "index"), str(work / "bare")
    rows: list[dict[str, Any]] = []
    proc: subprocess.Popen[bytes] | None = None
    await ensure_topics(servers.kafka, [topic])
    try:
        print(f"search: producing {n} posts to {topic} ...", flush=True)
        await produce(servers.kafka, topic, events)
        bare_s = await asyncio.to_thread(bare_indexing, events, bare_path)
        idle = await idle_rss(servers.kafka, servers.mongodb, work)
        port = _free_port()
        proc = start_service(servers.kafka, servers.mongodb, topic, path, port, work / "svc.log")
        print("search: the service catches up ...", flush=True)
        took, covered = await catch_up(path, n, proc)
        peak = memory_mb(proc.pid, "VmHWM")
        rows.append(
            row(
                "search: peak RSS during catch-up (VmHWM, target <= 150 MB)",
                n,
                "peak_rss",
                peak,
                "MB",
                "the same service, ready and idle on an empty topic (VmRSS)",
                idle,
            )
        )
        rows.append(
            row(
                "search: catch-up indexing (Kafka → index, one commit per batch)",
                n,
                "throughput",
                covered / took,
                "posts/s",
                "tantivy add_document of the same documents, one commit",
                n / bare_s,
            )
        )
        url = f"http://127.0.0.1:{port}"
        _wait_ready(url)
        print(f"search: {len(qs)} queries over HTTP and bare ...", flush=True)
        await asyncio.sleep(SETTLE)  # let the writer's last segment merges finish
        api, bare, layer, floor = await asyncio.to_thread(latencies, url, path, qs)
        for p in (50, 99):
            rows.append(
                row(
                    f"search: GET /search p{p} (HTTP, fuzzy, boosts, snippets)",
                    n,
                    f"p{p}_latency",
                    percentile(api, p) * 1000,
                    "ms",
                    "tantivy parse_query_lenient + search + docs, same index",
                    percentile(bare, p) * 1000,
                )
            )
        # where the time goes: the query layer without HTTP, and HTTP without a query
        base = "tantivy parse_query_lenient + search + docs, same index"
        for p in (50, 99):
            rows.append(
                row(
                    f"search: SearchService.search p{p} (in-process, no HTTP)",
                    n,
                    f"p{p}_latency",
                    percentile(layer, p) * 1000,
                    "ms",
                    base,
                    percentile(bare, p) * 1000,
                )
            )
            rows.append(
                row(
                    f"search: GET /healthz p{p} (this service's HTTP floor)",
                    n,
                    f"p{p}_latency",
                    percentile(floor, p) * 1000,
                    "ms",
                    base,
                    percentile(bare, p) * 1000,
                )
            )
        rows.append(
            row(
                "search: GET /search mean",
                n,
                "mean_latency",
                statistics.fmean(api) * 1000,
                "ms",
                "bare tantivy query mean",
                statistics.fmean(bare) * 1000,
            )
        )
        return rows
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        await _delete_topic(servers.kafka, topic)
        shutil.rmtree(work, ignore_errors=True)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=3) as r:
                if r.status == 200:
                    return
        except Exception:  # noqa: BLE001
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} not ready")


async def _delete_topic(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics([topic])
    except Exception:  # noqa: BLE001 - best effort clean-up
        pass
    finally:
        await admin.close()


async def _main() -> None:
    from tests.servers import resolve

    servers = resolve()
    try:
        for r in await run(servers):
            print(r)
    finally:
        servers.stop()


if __name__ == "__main__":
    asyncio.run(_main())
