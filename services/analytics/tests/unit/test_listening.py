"""Listening (issue 26 items 1-4) on hand-made streams: a known spike trends and steady terms
do not, the alert fires once whatever is redelivered, VADER's scores are stored as the
library computes them, search gaps, and the HTTP answers (real handlers, in-memory store)."""

from __future__ import annotations

import asyncio
import copy
import zlib
from datetime import UTC, datetime, timedelta
from functools import partial
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from analytics.config import Settings
from analytics.listening import http as listening_http
from analytics.listening import reads
from analytics.listening.domain import rules, sketch
from analytics.listening.domain.changes import (
    ALERTS,
    COLLECTIONS,
    DAYS,
    ITEMS,
    SEARCHES,
    SENTIMENT,
)
from analytics.listening.domain.phrases import phrases
from analytics.listening.domain.rules import TrendRule
from analytics.listening.domain.sentiment import text_of
from analytics.listening.projection import ListeningProjection
from analytics.listening.rebuild import normalizing
from communitykit import problems
from communitykit.consumer import Received
from communitykit.memory import MemoryDatabase
from schemas import forum as f
from schemas import new_event, parse, topics
from schemas import search as s

Doc = dict[str, Any]
SPIKE_DAY = datetime(2026, 11, 30, tzinfo=UTC)
NOW = SPIKE_DAY + timedelta(hours=12, minutes=30)

STEADY = [
    "Loving the new wifi mesh setup on my router, works great",
    "The wifi mesh setup was easy and the app is nice",
    "Good wifi mesh coverage across the house with this router",
    "Happy with the wifi mesh speed after the setup",
]
SPIKE = [
    "Battery drain is terrible since the update, awful",
    "Terrible battery drain overnight, I hate this",
    "Why is the battery drain so bad? Horrible experience",
    "Battery drain again, the sensor is dead by noon, very disappointed",
]


class Stream:
    """Real envelopes on their real topics, partitioned by key like Kafka."""

    def __init__(self) -> None:
        self.records: list[Received] = []
        self.offsets: dict[tuple[str, int], int] = {}
        self.n = 0

    def emit(self, topic: str, data: Any, key: str, actor: str | None, t: datetime) -> None:
        self.n += 1
        env = new_event(data, subject=key, actor_id=actor, time=t, event_id=f"e-{self.n:06d}")
        env = parse(env.to_bytes())  # as a consumer receives it
        p = zlib.crc32(key.encode()) % topics.EVENT_TOPIC_PARTITIONS
        off = self.offsets.get((topic, p), 0)
        self.offsets[(topic, p)] = off + 1
        self.records.append(Received(env, topic, p, off))

    def post(
        self,
        t: datetime,
        author: str,
        kind: str,
        title: str,
        body: str,
        product: str | None = None,
        tags: tuple[str, ...] = (),
        group: str | None = None,
    ) -> str:
        tid = f"t{self.n + 1:05d}"
        data = f.PostCreated(
            post_id=tid,
            thread_id=tid,
            kind=kind,  # type: ignore[arg-type]
            author_id=author,
            group_id=group,
            title=title,
            tags=list(tags),
            product_id=product,
            rating=4 if kind == "review" else None,
            body_length=len(body),
            body=body,
        )
        self.emit(topics.FORUM_EVENTS, data, tid, author, t)
        return tid

    def reply(self, t: datetime, author: str, thread: str, body: str) -> None:
        data = f.PostCreated(
            post_id=f"{thread}-r{self.n}",
            thread_id=thread,
            parent_post_id=thread,
            kind="reply",
            author_id=author,
            body_length=len(body),
            body=body,
        )
        self.emit(topics.FORUM_EVENTS, data, thread, author, t)

    def edit(
        self,
        t: datetime,
        thread: str,
        post: str,
        body: str | None = None,
        title: str | None = None,
        tags: list[str] | None = None,
    ) -> None:
        fields = [n for n, v in (("title", title), ("body", body), ("tags", tags)) if v is not None]
        data = f.PostEdited(
            post_id=post,
            thread_id=thread,
            editor_id="ed",
            fields=fields,
            title=title,
            body=body,
            tags=tags,
        )
        self.emit(topics.FORUM_EVENTS, data, thread, "ed", t)

    def delete(self, t: datetime, thread: str, post: str, kind: str = "question") -> None:
        data = f.PostDeleted(
            post_id=post,
            thread_id=thread,
            author_id="a",
            deleted_by="mod",
            kind=kind,  # type: ignore[arg-type]
        )
        self.emit(topics.FORUM_EVENTS, data, thread, "mod", t)

    def hide(self, t: datetime, thread: str, post: str, restore: bool = False) -> None:
        data: Any = (
            f.PostRestored(post_id=post, thread_id=thread, author_id="a", restored_by="mod")
            if restore
            else f.PostHidden(post_id=post, thread_id=thread, author_id="a", reason="spam")
        )
        self.emit(topics.FORUM_EVENTS, data, thread, "mod", t)

    def search(self, t: datetime, query: str, results: int, endpoint: str = "search") -> None:
        q = s.normalize_query(query)
        data = s.SearchPerformed(
            query=q,
            endpoint=endpoint,  # type: ignore[arg-type]
            result_count=results,
            sample_rate=1.0,
        )
        self.emit(topics.SEARCH_EVENTS, data, q, None, t)


def baseline(st: Stream) -> None:
    """28 days of steady, happy talk about wifi mesh on the router (4 posts a day)."""
    for d in range(28, 0, -1):
        day = SPIKE_DAY - timedelta(days=d)
        for k, text in enumerate(STEADY):
            st.post(
                day + timedelta(hours=9 + k),
                f"u{k}",
                "discussion",
                "Wifi mesh",
                text,
                product="router",
                tags=("wifi",),
            )


def steady_day(st: Stream) -> None:
    for k, text in enumerate(STEADY):
        st.post(
            SPIKE_DAY + timedelta(hours=9 + k),
            f"u{k}",
            "discussion",
            "Wifi mesh",
            text,
            product="router",
            tags=("wifi",),
        )


def spike(st: Stream) -> list[str]:
    """8 questions about battery drain by 4 members in two hours, all negative."""
    out = []
    for k in range(8):
        t = SPIKE_DAY + timedelta(hours=10, minutes=15 * k)
        out.append(
            st.post(
                t,
                f"m{k % 4}",
                "question",
                "Battery drain",
                SPIKE[k % 4],
                product="router",
                tags=("battery",),
            )
        )
    return out


def run(db: MemoryDatabase, records: list[Received], batch: int, **kw: Any) -> ListeningProjection:
    proj = ListeningProjection(db, now=lambda: NOW, **kw)  # type: ignore[arg-type]
    for i in range(0, len(records), batch):
        asyncio.run(proj.apply(records[i : i + batch]))
    return proj


def state(db: MemoryDatabase) -> dict[str, dict[str, Doc]]:
    norm = normalizing(lambda _, d: d)
    out = {}
    for name in COLLECTIONS:
        docs = copy.deepcopy(db[name].docs)
        for d in docs.values():
            d.pop("outbox", None)
            d.pop("outbox_len", None)
        out[name] = {k: norm(name, d) for k, d in docs.items()}
    return out


def trending(db: MemoryDatabase, scope: str = "all", hours: int = 24) -> list[rules.Trend]:
    found, _ = asyncio.run(reads.trending(db, scope, hours, NOW, TrendRule(), 20))  # type: ignore[arg-type]
    return found


# --- domain ------------------------------------------------------------------------------------


def test_phrases_are_stemmed_one_and_two_word_terms_without_stop_words() -> None:
    got = phrases("The battery drains fast, and the batteries are draining!")
    assert {"batteri", "drain", "fast", "batteri drain", "drain fast"} <= set(got)
    assert "the" not in got and "and" not in got
    assert "drain batteri" not in got  # "and the" breaks the pair
    assert got["batteri drain"] == "battery drains"


def test_sketch_never_undercounts_and_is_linear() -> None:
    a: dict[str, int] = {}
    b: dict[str, int] = {}
    sketch.add(a, ["wifi", "router"])
    sketch.add(b, ["wifi"])
    both = sketch.merge([a, b])
    assert sketch.estimate(both, "wifi") == 2
    assert sketch.estimate(both, "router") == 1
    assert sketch.estimate(both, "never seen") in (0, 1, 2)  # collisions only add
    assert len(both) <= sketch.WIDTH * sketch.DEPTH


def test_spike_rule_needs_support_and_lift() -> None:
    rule = rules.SpikeRule()
    assert rules.spike(4, [0] * 28, rule) is None  # below the minimum
    assert rules.spike(5, [0] * 28, rule) is not None
    assert rules.spike(9, [4] * 28, rule) is None  # lift 2.25: busy, not a spike
    assert rules.spike(12, [4] * 28, rule) is not None


# --- the stream --------------------------------------------------------------------------------


def test_the_spike_trends_and_steady_terms_do_not() -> None:
    st = Stream()
    baseline(st)
    steady_day(st)
    spiked = spike(st)
    db = MemoryDatabase()
    run(db, st.records, 37)
    found = {t.term: t for t in trending(db)}
    assert "batteri drain" in found and "batteri" in found
    assert not {"wifi", "mesh", "wifi mesh", "router", "setup"} & set(found)
    bd = found["batteri drain"]
    assert bd.count == 8 and bd.authors == 4 and bd.baseline == 0
    assert bd.display == "battery drain"
    assert bd.examples == sorted(spiked)[:3]
    assert sum(bd.series) == 8 and len(bd.series) == 24
    # per product scope too; and the 7-day window has daily buckets
    assert "batteri drain" in {t.term for t in trending(db, "p:router")}
    week = {t.term: t for t in trending(db, "all", 24 * 7)}
    assert len(week["batteri drain"].series) == 7


def test_a_steady_day_trends_nothing_and_alerts_nothing() -> None:
    st = Stream()
    baseline(st)
    steady_day(st)
    db = MemoryDatabase()
    run(db, st.records, 50)
    assert trending(db) == []
    assert db[ALERTS].docs == {}


def test_too_few_members_do_not_trend() -> None:
    st = Stream()
    baseline(st)
    for k in range(8):  # one member repeating themself
        st.post(
            SPIKE_DAY + timedelta(hours=10, minutes=k),
            "loud",
            "question",
            "Battery drain",
            SPIKE[0],
            product="router",
        )
    db = MemoryDatabase()
    run(db, st.records, 50)
    assert "batteri drain" not in {t.term for t in trending(db)}


def test_the_alert_fires_once_whatever_is_redelivered() -> None:
    st = Stream()
    baseline(st)
    steady_day(st)
    spike(st)
    db = MemoryDatabase()
    published: list[int] = []
    run(db, st.records, 5, on_published=lambda: published.append(1))
    alerts = db[ALERTS].docs
    assert set(alerts) == {
        "questions|product|router|2026-11-30",
        "negative|product|router|2026-11-30",
        "questions|tag|battery|2026-11-30",
        "negative|tag|battery|2026-11-30",
    }
    assert len(published) == 4
    for a in alerts.values():
        assert a["published"] is True
        assert a["outbox_len"] == 1
        (entry,) = a["outbox"].values()
        assert entry["topic"] == topics.ANALYTICS_EVENTS
        event = parse(entry["value"].encode())
        assert event.data.alert_id == a["_id"]
        assert event.partitionkey == a["key"]
    trend = parse(
        next(iter(alerts["questions|product|router|2026-11-30"]["outbox"].values()))[
            "value"
        ].encode()
    )
    assert trend.type == "community.analytics.TrendDetected.v1"
    drop = parse(
        next(iter(alerts["negative|product|router|2026-11-30"]["outbox"].values()))[
            "value"
        ].encode()
    )
    assert drop.type == "community.analytics.SentimentDropped.v1"
    assert drop.data.mean_compound < 0 < (drop.data.baseline_mean_compound or 0)
    before = state(db)
    # every batch again, in other batch sizes, by a new process (no cache): nothing changes
    run(db, st.records, 7, on_published=lambda: published.append(1))
    run(db, st.records, 1000, on_published=lambda: published.append(1))
    assert len(published) == 4
    assert state(db) == before
    assert all(a["outbox_len"] == 1 for a in db[ALERTS].docs.values())


def test_old_spikes_are_recorded_but_not_published() -> None:
    st = Stream()
    baseline(st)
    spike(st)
    db = MemoryDatabase()
    proj = ListeningProjection(db, now=lambda: NOW + timedelta(days=30))  # type: ignore[arg-type]
    asyncio.run(proj.apply(st.records))
    assert db[ALERTS].docs
    assert all(not a["published"] and "outbox" not in a for a in db[ALERTS].docs.values())


def test_batching_and_partition_order_do_not_change_the_state() -> None:
    """What ``make rebuild`` relies on: one big batch == many small ones == redelivered."""
    st = Stream()
    baseline(st)
    steady_day(st)
    spike(st)
    st.search(NOW - timedelta(hours=1), "battery drain fix", 0)
    one = MemoryDatabase()
    run(one, st.records, 100_000, publish=False)
    many = MemoryDatabase()
    run(many, st.records, 3)
    run(many, st.records[10:50], 4)  # a redelivered stretch
    shuffled = sorted(st.records, key=lambda r: (r.partition, r.topic, r.offset))
    other = MemoryDatabase()
    run(other, shuffled, 11)
    assert state(one) == state(many) == state(other)


def test_stored_scores_are_vaders_own() -> None:
    texts = [
        ("Great router", "Setup took two minutes and it is blazing fast :)"),
        ("Broken", "The app crashes every time. Terrible, useless support!!!"),
        ("Question", "How do I change the channel?"),
        (None, "Not bad at all, but NOT great either."),
    ]
    st = Stream()
    for k, (title, body) in enumerate(texts):
        if title is None:
            st.reply(SPIKE_DAY, "u9", "t00001", body)
        else:
            st.post(SPIKE_DAY + timedelta(minutes=k), "u1", "discussion", title, body)
    db = MemoryDatabase()
    run(db, st.records, 2)
    vader = SentimentIntensityAnalyzer()
    items = db[ITEMS].docs
    assert len(items) == len(texts)
    for r, (title, body) in zip(st.records, texts, strict=True):
        expected = vader.polarity_scores(text_of(title, body))
        got = items[r.event.data.post_id]
        assert {k: got[k] for k in ("compound", "neg", "neu", "pos")} == expected
    # the reply inherits nothing it does not have, but is scored and counted
    assert items[st.records[-1].event.data.post_id]["thread"] == "t00001"


def test_product_sentiment_moves_with_star_ratings() -> None:
    st = Stream()
    for k in range(5):
        st.post(
            SPIKE_DAY,
            f"a{k}",
            "review",
            "Love it",
            "Excellent, reliable, I love it!",
            product="good",
        )
        st.post(
            SPIKE_DAY,
            f"b{k}",
            "review",
            "Awful",
            "Awful, broken and useless. I regret it.",
            product="bad",
        )
    db = MemoryDatabase()
    run(db, st.records, 4)
    day = SPIKE_DAY.date()
    got = {x["key"]: x for x in asyncio.run(reads.sentiment(db, "product", day, day))}  # type: ignore[arg-type]
    assert got["good"]["mean_compound"] > 0.5 > -0.5 > got["bad"]["mean_compound"]
    assert got["good"]["positive_share"] == 1.0 and got["bad"]["negative_share"] == 1.0
    assert got["good"]["count"] == 5


def test_search_gaps_are_queries_that_found_nothing_or_were_asked_anyway() -> None:
    st = Stream()
    t = NOW - timedelta(hours=2)
    for _ in range(3):
        st.search(t, "Battery  DRAIN fix?", 0)
    st.search(t, "reset router", 4)
    st.search(t, "reset router", 4)
    st.search(t, "wifi mesh", 2, endpoint="similar")
    st.post(t, "m1", "question", "Wifi mesh", "It drops every hour")  # asked anyway
    db = MemoryDatabase()
    run(db, st.records, 2)
    gaps = asyncio.run(reads.search_gaps(db, t.date(), t.date(), 10))  # type: ignore[arg-type]
    assert [g["query"] for g in gaps] == ["battery drain fix", "wifi mesh"]
    assert gaps[0]["zero_results"] == 3 and gaps[0]["searches"] == 3
    assert gaps[1]["asked_anyway"] == 1 and gaps[1]["zero_results"] == 0


# --- HTTP --------------------------------------------------------------------------------------


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> TestClient:
    st = Stream()
    baseline(st)
    steady_day(st)
    spike(st)
    st.search(NOW - timedelta(hours=1), "battery drain fix", 0)
    db = MemoryDatabase()
    run(db, st.records, 40)
    app = FastAPI()
    problems.install(app)
    app.include_router(listening_http.router)
    app.state.settings = Settings()
    app.state.runtime = SimpleNamespace(db=db)
    monkeypatch.setattr(listening_http, "now", lambda: NOW)
    from analytics.entrypoints import http as analytics_http

    monkeypatch.setattr(analytics_http, "now", lambda: NOW)
    return TestClient(app)


def test_http_answers(client: TestClient) -> None:
    r = client.get("/listening/trending", params={"window": "24h"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["scope"] == "all"
    terms = [i["term"] for i in body["items"]]
    assert "batteri drain" in terms and "wifi" not in terms
    assert set(body["items"][0]) >= {"term", "count", "baseline", "lift", "examples"}
    r = client.get("/listening/sentiment", params={"group_by": "product"})
    assert r.status_code == 200, r.text
    (router,) = r.json()["items"]
    assert (
        router["key"] == "router" and router["count"] == 27 * 4 + 4 + 8
    )  # from 2026-11-03: the last 28 days
    assert r.json()["from"] == "2026-11-03"
    r = client.get("/listening/search-gaps")
    assert [g["query"] for g in r.json()["items"]] == ["battery drain fix"]
    r = client.get("/listening/alerts")
    assert {a["type"] for a in r.json()["items"]} == {"TrendDetected", "SentimentDropped"}
    assert len(r.json()["items"]) == 4


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/listening/sentiment", {"group_by": "colour"}, "group_by"),
        ("/listening/sentiment", {}, "group_by"),
        (
            "/listening/sentiment",
            {"group_by": "tag", "from": "2026-12-02", "to": "2026-12-01"},
            "from",
        ),
        ("/listening/trending", {"window": "1y"}, "window"),
        ("/listening/trending", {"group_id": "g", "product_id": "p"}, "product_id"),
        ("/listening/search-gaps", {"limit": "0"}, "limit"),
        ("/listening/alerts", {"limit": "x"}, "limit"),
    ],
)
def test_bad_input_is_a_problem_naming_the_field(
    client: TestClient, path: str, params: dict[str, str], field: str
) -> None:
    r = client.get(path, params=params)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in r.text


def test_the_demos_reviews_score_in_the_direction_of_their_stars() -> None:
    """`make demo`'s reviews (tools/demo/plan.py), scored as listening scores them: the mean
    compound score rises with the stars, so product sentiment follows the ratings."""
    from tools.demo.plan import community, make_plan

    steps = make_plan(7, 4000, community(60, "demo"))
    reviews = [st.args for st in steps if st.args.get("kind") == "review"]
    assert len(reviews) >= 20
    vader = SentimentIntensityAnalyzer()
    by_stars: dict[int, list[float]] = {}
    for a in reviews:
        score = vader.polarity_scores(text_of(a["title"], a["body"]))["compound"]
        by_stars.setdefault(a["rating"], []).append(score)
    means = [sum(v) / len(v) for _, v in sorted(by_stars.items())]
    assert len(means) == 5 and means == sorted(means) and means[0] < 0 < means[-1]


# --- edits, deletions, hides -------------------------------------------------------------------

COUNTERS = (SENTIMENT, DAYS, SEARCHES)


def counters(db: MemoryDatabase) -> dict[str, dict[str, Doc]]:
    """The counter documents without their guards and without what adds up to nothing (an
    item created then removed leaves its counters at 0)."""

    def clean(d: Any) -> Any:
        if isinstance(d, dict):
            out = {k: clean(v) for k, v in d.items() if k != "seq"}
            return {k: v for k, v in out.items() if v != 0 and v != {}}
        return d

    out: dict[str, dict[str, Doc]] = {}
    for name in COUNTERS:
        docs = {k: clean(d) for k, d in db[name].docs.items()}
        # a document left with its labels only counts nothing
        out[name] = {
            k: d for k, d in docs.items() if set(d) - {"_id", "dim", "day", "key", "scope", "q"}
        }
    return out


def test_an_edit_is_rescored_and_replaces_its_old_contribution_once() -> None:
    t = SPIKE_DAY + timedelta(hours=9)
    edited = Stream()
    tid = edited.post(t, "u1", "question", "Router", "Excellent, I love it", product="router")
    edited.reply(t + timedelta(minutes=1), "u2", tid, "Great to hear, wonderful")
    reply = edited.records[-1].event.data.post_id
    edited.edit(t + timedelta(minutes=5), tid, tid, body="Awful, it is broken and useless")
    edited.edit(t + timedelta(minutes=6), tid, reply, body="Terrible news, sorry")
    edited.edit(t + timedelta(minutes=7), tid, tid, title="Battery drain")  # title only
    direct = Stream()
    direct.post(t, "u1", "question", "Battery drain", "Awful, it is broken and useless",
                product="router")  # fmt: skip
    direct.reply(t + timedelta(minutes=1), "u2", tid, "Terrible news, sorry")
    db, want = MemoryDatabase(), MemoryDatabase()
    run(db, edited.records, 2)
    run(want, direct.records, 2)
    assert counters(db) == counters(want)
    item = db[ITEMS].docs[tid]
    vader = SentimentIntensityAnalyzer()
    expected = vader.polarity_scores(text_of("Battery drain", "Awful, it is broken and useless"))
    assert {k: item[k] for k in ("compound", "neg", "neu", "pos")} == expected
    assert "batteri drain" in item["t"] and "excel" not in item["t"]
    day = SPIKE_DAY.date()
    (router,) = asyncio.run(reads.sentiment(db, "product", day, day))  # type: ignore[arg-type]
    assert router["count"] == 2 and router["negative_share"] == 1.0
    gaps = asyncio.run(reads.search_gaps(db, day, day, 10))  # type: ignore[arg-type]
    assert gaps == []  # asked with its new title, never searched


def test_deleted_and_hidden_posts_stop_counting_and_restored_ones_count_again() -> None:
    t = SPIKE_DAY + timedelta(hours=9)
    st = Stream()
    keep = st.post(t, "u1", "question", "Wifi", "Wifi mesh works great", product="router",
                   tags=("wifi",))  # fmt: skip
    gone = st.post(t, "u2", "question", "Battery", "Battery drain is awful", product="router",
                   tags=("battery",))  # fmt: skip
    hid = st.post(t, "u3", "discussion", "Spam", "Buy cheap pills now", product="router")
    back = st.post(t, "u4", "review", "Nice", "Nice router, happy", product="router")
    st.reply(t + timedelta(minutes=1), "u5", keep, "Same here, love it")
    st.delete(t + timedelta(minutes=2), gone, gone)
    st.hide(t + timedelta(minutes=3), hid, hid)
    st.hide(t + timedelta(minutes=3), back, back)
    st.hide(t + timedelta(minutes=4), back, back, restore=True)
    for batch in (1, 3, 100):
        db, expected = MemoryDatabase(), MemoryDatabase()
        run(db, st.records, batch)
        run(expected, [r for r in st.records if r.event.data.post_id not in (gone, hid)], batch)
        got = counters(db)
        assert got == counters(expected)
        assert not any("battery" in k for k in got[SENTIMENT])
        items = db[ITEMS].docs
        assert [i for i, d in sorted(items.items()) if d["live"]] == sorted(
            [keep, back, *(i for i in items if i.startswith(f"{keep}-"))]
        )


def test_edits_deletes_and_hides_do_not_depend_on_batching_or_redelivery() -> None:
    st = Stream()
    baseline(st)
    spiked = spike(st)
    t = SPIKE_DAY + timedelta(hours=13)
    st.edit(t, spiked[0], spiked[0], body="All good now, thanks, great support")
    st.delete(t, spiked[1], spiked[1])
    st.hide(t, spiked[2], spiked[2])
    st.hide(t + timedelta(minutes=1), spiked[2], spiked[2], restore=True)
    st.hide(t + timedelta(minutes=2), spiked[3], spiked[3])
    st.edit(t + timedelta(minutes=3), spiked[3], spiked[3], body="Edited while hidden, awful")
    one = MemoryDatabase()
    run(one, st.records, 100_000, publish=False)
    many = MemoryDatabase()
    run(many, st.records, 3)
    run(many, st.records[-20:], 4)  # a redelivered stretch
    shuffled = sorted(st.records, key=lambda r: (r.partition, r.topic, r.offset))
    other = MemoryDatabase()
    run(other, shuffled, 7)
    assert counters(one) == counters(many) == counters(other)
    assert state(one)[ITEMS] == state(many)[ITEMS] == state(other)[ITEMS]
    day = SPIKE_DAY.date()
    (router,) = asyncio.run(reads.sentiment(one, "product", day, day))  # type: ignore[arg-type]
    assert router["count"] == 8 - 2  # one deleted, one hidden (edited while hidden)
    # a republished copy of an edit (a new id: an older edit replayed) changes nothing
    late = Stream()
    late.n = 10_000
    late.edit(t - timedelta(hours=1), spiked[0], spiked[0], body="Older text, terrible")
    before = counters(many)
    run(many, late.records, 1)
    assert counters(many) == before


def test_a_hidden_spike_does_not_trend() -> None:
    st = Stream()
    baseline(st)
    spiked = spike(st)
    for k, tid in enumerate(spiked):
        st.hide(SPIKE_DAY + timedelta(hours=12, minutes=k), tid, tid)
    db = MemoryDatabase()
    run(db, st.records, 5)
    assert "batteri drain" not in {t.term for t in trending(db)}


# --- a spike across midnight -------------------------------------------------------------------


def midnight_spike(st: Stream, late: bool = False) -> None:
    """6 negative questions before midnight and 6 after: both days spike on their own
    (``late``: those before midnight reach the stream after the others)."""
    for k in (*range(6, 12), *range(6)) if late else range(12):
        t = SPIKE_DAY - timedelta(hours=2) + timedelta(minutes=20 * k)
        st.post(t, f"m{k % 4}", "question", "Battery drain", SPIKE[k % 4], product="router",
                tags=("battery",))  # fmt: skip


def test_a_spike_across_midnight_is_alerted_once() -> None:
    st = Stream()
    baseline(st)
    midnight_spike(st)
    for batch in (1, 5, 100_000):
        db = MemoryDatabase()
        published: list[int] = []
        run(db, st.records, batch, on_published=partial(published.append, 1))
        alerts = db[ALERTS].docs
        first, second = (SPIKE_DAY - timedelta(days=1)).date(), SPIKE_DAY.date()
        raised = {k for k, a in alerts.items() if "continues" not in a}
        assert raised == {
            f"{kind}|{dim}|{key}|{first}"
            for kind in ("questions", "negative")
            for dim, key in (("product", "router"), ("tag", "battery"))
        }, batch
        assert len(published) == 4
        cont = alerts[f"questions|product|router|{second}"]
        assert cont["continues"] == f"questions|product|router|{first}"
        assert "outbox" not in cont and cont["published"] is False
        listed = asyncio.run(reads.alerts(db, 20))  # type: ignore[arg-type]
        assert {a["_id"] for a in listed} == raised
        run(db, st.records, 3, on_published=partial(published.append, 1))
        assert len(published) == 4


def test_a_day_alerted_first_absorbs_its_late_day_before() -> None:
    """The day after was alerted before the day before spiked (its events came late): the
    day before continues that alert instead of raising another."""
    st = Stream()
    baseline(st)
    midnight_spike(st, late=True)
    db = MemoryDatabase()
    published: list[int] = []
    run(db, st.records[:-6], 50, on_published=lambda: published.append(1))
    assert len(published) == 4
    run(db, st.records[-6:], 50, on_published=lambda: published.append(1))
    assert len(published) == 4
    assert len(db[ALERTS].docs) == 8
    raised = {k for k, a in db[ALERTS].docs.items() if "continues" not in a}
    assert all(k.endswith(str(SPIKE_DAY.date())) for k in raised)


def test_a_thread_posted_twice_keeps_the_later_event_whatever_the_order() -> None:
    """Two opening posts of one thread id (different events, different groups) on two
    partitions: the items and the thread keep the later event's group however the
    partitions interleave and whatever the batches (live and a rebuild agree)."""
    st = Stream()
    t1 = SPIKE_DAY + timedelta(hours=1)
    for n, (t, group) in enumerate([(t1, "g-old"), (t1 + timedelta(minutes=5), "g-new")]):
        data = f.PostCreated(
            post_id="tX",
            thread_id="tX",
            kind="question",
            author_id="u1",
            group_id=group,
            title="router setup",
            body_length=5,
            body="hello",
        )
        env = parse(new_event(data, subject="tX", time=t, event_id=f"x-{n}").to_bytes())
        st.records.append(Received(env, topics.FORUM_EVENTS, n, 0))
    got = []
    for batches in (
        [st.records[:1], st.records[1:]],
        [st.records[1:], st.records[:1]],
        [st.records[::-1]],
        [st.records],
    ):
        db = MemoryDatabase("t", stored_form=True)
        proj = ListeningProjection(db, publish=False, now=lambda: NOW)  # type: ignore[arg-type]
        for b in batches:
            asyncio.run(proj.apply(b))
        got.append((db[ITEMS].docs["tX"]["group"], db["listening_threads"].docs["tX"]["group"]))
    assert got == [("g-new", "g-new")] * 4


def test_a_crash_between_the_counters_and_the_items_counts_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A batch's counters are written, then the process dies before its items and positions:
    its redelivery, in other batch sizes, derives the same changes again from the items'
    previous states, the counters' guards turn them away (each block of a day's sketch by
    the offsets that touched it) and what is missing (items, positions) is written once."""
    st = Stream()
    baseline(st)
    steady_day(st)
    spiked = spike(st)
    t = SPIKE_DAY + timedelta(hours=13)
    st.edit(t, spiked[0], spiked[0], body="All good now, thanks, great support")
    st.delete(t, spiked[1], spiked[1])
    one = MemoryDatabase()
    run(one, st.records, 100_000, publish=False)
    crashed = MemoryDatabase()
    cut = len(st.records) - 40
    run(crashed, st.records[:cut], 13)

    async def killed(*_: Any) -> None:
        raise RuntimeError("killed between the counters and the items")

    with monkeypatch.context() as m:
        m.setattr(ListeningProjection, "_write_items", killed)
        with pytest.raises(RuntimeError):
            run(crashed, st.records[cut:], 100)
    assert counters(crashed) != counters(run(MemoryDatabase(), st.records[:cut], 13).db)
    run(crashed, st.records[cut - 5 :], 9)  # redelivered from before the crash, other sizes
    assert counters(crashed) == counters(one)
    assert state(crashed) == state(one)
