"""Reputation reads and restores over the real broker and store (issue 11, gap 9; SPEC 3, 4):
the ledger's stable keyset cursor, the leaderboard's cursor bound to its period, ledger lines
naming their thread/post, and PostRestored giving back what PostHidden took in either arrival
order. (Named to run before test_exactly_once: its rebuild == live then replays these events.)
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from reputation.domain.facts import facts_of, removal_of
from reputation.domain.fold import fold
from schemas import Envelope

from ...conftest import ServiceProcess, eventually, from_end, service_env
from ...servers import Servers
from .events import Script, produce

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


@pytest.fixture(scope="module")
def rep(servers: Servers) -> Iterator[ServiceProcess]:
    """One reputation process with its own database, consuming from the current end."""
    proc = ServiceProcess("reputation", service_env(servers, "reputation", suffix="reads"))
    from_end(servers, proc)
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


def recent_script() -> Script:
    s = Script(uuid.uuid4().hex[:6])
    s._t = datetime.now(UTC) - timedelta(minutes=30)  # this week's and month's leaderboards
    return s


async def ledger(http: httpx.AsyncClient, rep: ServiceProcess, user: str, **params: Any) -> Any:
    r = await http.get(f"{rep.url}/users/{user}/ledger", params=params)
    assert r.status_code == 200, r.text
    return r.json()


async def test_ledger_pages_are_stable_while_lines_arrive(
    servers: Servers, rep: ServiceProcess, http: httpx.AsyncClient
) -> None:
    s = recent_script()
    alice = s.user("alice")
    thread, post = s.question(alice)
    for i in range(7):
        s.vote(thread, post, "question", alice, s.user(f"v{i}"), 1)
    first_wave = [e.id for e in s.events[1:]]
    await produce(servers.kafka, s.events)

    async def lines(n: int) -> bool:
        return len((await ledger(http, rep, alice, limit=100))["items"]) == n

    await eventually(lambda: lines(7), timeout=60)
    page1 = await ledger(http, rep, alice, limit=3)
    assert [x["source_event_id"] for x in page1["items"]] == first_wave[::-1][:3]
    # two new lines arrive between pages: one newer than everything (an offset cursor
    # would now repeat a row of page 1), one late event older than everything
    s.vote(thread, post, "question", alice, s.user("late-newer"), 1)
    newer = s.events[-1]
    s._t = s._t - timedelta(hours=2)
    s.vote(thread, post, "question", alice, s.user("late-older"), 1)
    older = s.events[-1]
    await produce(servers.kafka, [newer, older])
    await eventually(lambda: lines(9), timeout=60)
    seen = [x["source_event_id"] for x in page1["items"]]
    cursor = page1["next_cursor"]
    while cursor:
        page = await ledger(http, rep, alice, limit=3, cursor=cursor)
        seen += [x["source_event_id"] for x in page["items"]]
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)), "a row repeated across pages"
    assert seen == [*first_wave[::-1], older.id], "rows skipped, repeated or out of order"
    assert newer.id not in seen  # it belongs above the first page, read before it arrived

    every = (await ledger(http, rep, alice, limit=100))["items"]
    assert {(x["thread_id"], x["post_id"], x["idea_id"]) for x in every} == {(thread, post, None)}
    assert all(x["delta"] == 5 and x["reason"] == "upvote-question" for x in every)

    # the cursor is bound to its user; garbage is refused clearly
    other = await http.get(
        f"{rep.url}/users/{s.user('v0')}/ledger", params={"cursor": page1["next_cursor"]}
    )
    assert other.status_code == 422 and other.json()["field"] == "cursor"
    assert "different query" in other.json()["detail"]
    bad = await http.get(f"{rep.url}/users/{alice}/ledger", params={"cursor": "bm9wZQ"})
    assert bad.status_code == 422 and "not one this API issued" in bad.json()["detail"]


async def board(http: httpx.AsyncClient, rep: ServiceProcess, **params: Any) -> Any:
    r = await http.get(f"{rep.url}/leaderboard", params=params)
    assert r.status_code == 200, r.text
    return r.json()


async def test_leaderboard_pages_with_a_cursor_bound_to_its_period(
    servers: Servers, rep: ServiceProcess, http: httpx.AsyncClient
) -> None:
    s = recent_script()
    authors = [s.user(f"author{i}") for i in range(5)]
    for n_votes, author in zip((3, 2, 2, 2, 1), authors, strict=True):  # ties at 2 votes
        thread, post = s.question(author)
        for v in range(n_votes):
            s.vote(thread, post, "question", author, s.user(f"fan{v}"), 1)
    await produce(servers.kafka, s.events)
    want_points = {a: 5 * n for a, n in zip(authors, (3, 2, 2, 2, 1), strict=True)}

    async def settled() -> bool:
        week = await board(http, rep, period="week", limit=100)
        got = {x["user_id"]: x["points"] for x in week["items"] if x["user_id"] in authors}
        return got == want_points

    await eventually(settled, timeout=60)
    for period in ("all", "week", "month"):
        whole = (await board(http, rep, period=period, limit=100))["items"]
        assert whole and whole[-1]["rank"] == len(whole)
        keys = [(-x["points"], x["user_id"]) for x in whole]
        assert keys == sorted(keys), "points descending, ties by user id"
        paged: list[dict[str, Any]] = []
        body = await board(http, rep, period=period, limit=2)
        cursors = []
        while True:
            assert body["period"] == period
            paged += body["items"]
            if body["next_cursor"] is None:
                break
            cursors.append(body["next_cursor"])
            body = await board(http, rep, period=period, limit=2, cursor=body["next_cursor"])
        assert paged == whole  # same rows, same ranks, nothing repeated or skipped
        for other in {"all", "week", "month"} - {period}:
            r = await http.get(
                f"{rep.url}/leaderboard", params={"period": other, "cursor": cursors[0]}
            )
            assert r.status_code == 422 and r.json()["field"] == "cursor"
            assert "another leaderboard" in r.json()["detail"]


def clean(events: list[Envelope[Any]], user: str) -> tuple[int, list[tuple[int, str, str]]]:
    """One ordered, duplicate-free application: (reputation, ledger lines) of ``user``."""
    facts = [f for e in events for f in facts_of(e) if f.user_id == user]
    st = fold(user, facts, [r for e in events if (r := removal_of(e))])
    return st.reputation, [(x.delta, x.reason, x.source_event_id) for x in st.entries]


@pytest.mark.parametrize("restore_arrives_first", [False, True])
async def test_restore_gives_back_what_the_hide_took_in_either_arrival_order(
    servers: Servers, rep: ServiceProcess, http: httpx.AsyncClient, restore_arrives_first: bool
) -> None:
    s = recent_script()
    alice, bob = s.user("alice"), s.user("bob")
    thread, _ = s.question(alice)
    answer = s.reply(thread, bob)
    for v in range(2):
        s.vote(thread, answer, "reply", bob, s.user(f"v{v}"), 1)  # bob +20
    s.accept(thread, answer, bob, alice)  # bob +15, alice +2
    hide = s.hide(thread, answer, bob)
    restore = s.restore(thread, answer, bob)
    events = list(s.events)
    if restore_arrives_first:  # same partition (key = thread): the restore is consumed first
        events[-2:] = [restore, hide]
    await produce(servers.kafka, events)
    want = {u: clean(s.events, u) for u in (alice, bob)}
    assert want[bob][0] == 36 and want[alice][0] == 3
    assert [x[:2] for x in want[bob][1][-2:]] == [(-35, "post-removed"), (35, "post-restored")]

    async def settled() -> bool:
        got = {}
        for u in (alice, bob):
            profile = (await http.get(f"{rep.url}/users/{u}")).json()
            items = (await ledger(http, rep, u, limit=100))["items"][::-1]
            got[u] = (
                profile["reputation"],
                [(x["delta"], x["reason"], x["source_event_id"]) for x in items],
            )
        return got == want

    await eventually(settled, timeout=60)
    lines = (await ledger(http, rep, bob, limit=2))["items"]
    assert [(x["reason"], x["thread_id"], x["post_id"]) for x in lines] == [
        ("post-restored", thread, answer),
        ("post-removed", thread, answer),
    ]


async def test_a_restore_older_than_the_hide_leaves_the_post_hidden(
    servers: Servers, rep: ServiceProcess, http: httpx.AsyncClient
) -> None:
    """The latest by (time, id) decides: a restore stamped before the hide does not undo it,
    even though it is consumed after it."""
    s = recent_script()
    alice, bob = s.user("alice"), s.user("bob")
    thread, question = s.question(alice)
    answer = s.reply(thread, bob)
    s.vote(thread, answer, "reply", bob, s.user("v"), 1)
    restore = s.restore(thread, answer, bob)  # stamped first ...
    hide = s.hide(thread, answer, bob)
    s.vote(thread, question, "question", alice, s.user("marker"), 1)
    marker = s.events[-1]
    # ... consumed after the hide; the marker (same key, so same partition, after both)
    # tells when both have been applied
    await produce(servers.kafka, [*s.events[:-3], hide, restore, marker])

    async def marker_applied() -> bool:
        items = (await ledger(http, rep, alice, limit=100))["items"]
        return marker.id in {x["source_event_id"] for x in items}

    await eventually(marker_applied, timeout=60)
    items = (await ledger(http, rep, bob, limit=100))["items"]
    assert [x["reason"] for x in items] == ["post-removed", "upvote-reply"]
    assert (await http.get(f"{rep.url}/users/{bob}")).json()["reputation"] == 1
    assert clean(s.events, bob)[0] == 1
