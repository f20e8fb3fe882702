"""Votes: one per user per idea, +1 or 0, never on your own idea; the count always equals the
number of distinct current voters, also with many parallel voters on two replicas."""

from __future__ import annotations

import asyncio
import random

import httpx
import pytest

from ...conftest import ServiceProcess, auth
from .conftest import Recorder, submit, uid, vote

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_vote_withdraw_and_idempotence(
    ideas: ServiceProcess, http: httpx.AsyncClient, recorder: Recorder
) -> None:
    author, bob, carol = uid("author"), uid("bob"), uid("carol")
    iid = await submit(http, ideas.url, author)
    r = await vote(http, ideas.url, iid, author)
    assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")
    assert (await vote(http, ideas.url, iid, author, 0)).status_code == 403

    assert (await vote(http, ideas.url, iid, bob)).json() == {"votes": 1}
    assert (await vote(http, ideas.url, iid, bob)).json() == {"votes": 1}  # one per user
    assert (await vote(http, ideas.url, iid, carol)).json() == {"votes": 2}
    assert (await vote(http, ideas.url, iid, bob, 0)).json() == {"votes": 1}
    assert (await vote(http, ideas.url, iid, bob, 0)).json() == {"votes": 1}  # nothing to undo
    assert (await vote(http, ideas.url, iid, bob, 1)).json() == {"votes": 2}

    got = (await http.get(f"{ideas.url}/ideas/{iid}", headers=auth(bob))).json()
    assert got["votes"] == 2 and got["recent_votes"] == 2 and got["my_vote"] == 1
    assert (await http.get(f"{ideas.url}/ideas/{iid}", headers=auth(uid("x")))).json()[
        "my_vote"
    ] == 0

    votes = await recorder.wait(iid, "VoteCast", 4)
    await asyncio.sleep(1)  # no further (duplicate) VoteCast may follow
    votes = recorder.of(iid, "VoteCast")
    assert [(e.data.voter_id, e.data.value, e.data.previous_value) for e in votes] == [
        (bob, 1, 0),
        (carol, 1, 0),
        (bob, 0, 1),
        (bob, 1, 0),
    ]
    v = votes[0]
    assert (v.data.target_type, v.data.target_kind, v.data.target_id) == ("idea", "idea", iid)
    assert v.data.target_author_id == author and v.data.thread_id is None
    assert v.actorid == bob and recorder.keys[v.id] == iid.encode()


async def test_100_parallel_voters_on_two_replicas_count_exactly(
    ideas: ServiceProcess,
    replica: ServiceProcess,
    http: httpx.AsyncClient,
    recorder: Recorder,
) -> None:
    """100 distinct users vote at once, each sending the same vote twice, half of the
    requests to each replica → votes == 100 and exactly 100 VoteCast(+1)."""
    iid = await submit(http, ideas.url, uid("author"))
    voters = [uid(f"p{i}") for i in range(100)]
    requests = [(u, url) for u in voters for url in (ideas.url, replica.url)]
    random.Random(7).shuffle(requests)
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=200)) as client:
        results = await asyncio.gather(*(vote(client, url, iid, u) for u, url in requests))
    assert [r.status_code for r in results] == [200] * 200, [r.text for r in results[:3]]
    for url in (ideas.url, replica.url):
        assert (await http.get(f"{url}/ideas/{iid}")).json()["votes"] == 100
    events = await recorder.wait(iid, "VoteCast", 100)
    await asyncio.sleep(1)
    events = recorder.of(iid, "VoteCast")
    assert sorted(e.data.voter_id for e in events) == sorted(voters)
    assert {(e.data.value, e.data.previous_value) for e in events} == {(1, 0)}


async def test_parallel_votes_and_withdrawals_keep_the_count_exact(
    ideas: ServiceProcess, replica: ServiceProcess, http: httpx.AsyncClient
) -> None:
    """40 users vote; then 20 of them withdraw while 20 new ones vote, all at once."""
    iid = await submit(http, ideas.url, uid("author"))
    first = [uid(f"a{i}") for i in range(40)]
    later = [uid(f"b{i}") for i in range(20)]
    await asyncio.gather(*(vote(http, ideas.url, iid, u) for u in first))
    ops = [(u, 0) for u in first[:20]] + [(u, 1) for u in later]
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=100)) as c:
        results = await asyncio.gather(
            *(
                vote(c, (ideas.url, replica.url)[i % 2], iid, u, value)
                for i, (u, value) in enumerate(ops)
            )
        )
    assert {r.status_code for r in results} == {200}
    got = (await http.get(f"{replica.url}/ideas/{iid}")).json()
    assert got["votes"] == 40 and got["recent_votes"] == 40
