"""Merges: votes move, a voter of both counts once, moved_votes is what actually moved, the
source becomes a pointer; the 409s; a merge interrupted by a crash is finished exactly once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from communitykit.repository import Repository
from ideas.adapters.mongo import IdeasDb
from ideas.adapters.repository import ideas_repository
from ideas.domain.model import Idea, merge_event_id

from ...conftest import ServiceProcess, auth, eventually
from .conftest import STAFF, Recorder, merge, move, submit, uid, vote

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def _voted(http: httpx.AsyncClient, url: str, idea: str, *users: str) -> None:
    for u in users:
        r = await vote(http, url, idea, u)
        assert r.status_code == 200, r.text


async def _get(http: httpx.AsyncClient, url: str, idea: str) -> dict[str, Any]:
    r = await http.get(f"{url}/ideas/{idea}")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_merge_arithmetic_with_overlapping_voters(
    ideas: ServiceProcess, http: httpx.AsyncClient, recorder: Recorder
) -> None:
    src_author, tgt_author = uid("src"), uid("tgt")
    u1, u2, u3, u4 = (uid(f"u{i}") for i in range(1, 5))
    src = await submit(http, ideas.url, src_author, title="Dark theme")
    tgt = await submit(http, ideas.url, tgt_author, title="Dark mode")
    # u2 voted for both; the target's author voted for the source (cannot vote on their own)
    await _voted(http, ideas.url, src, u1, u2, u3, tgt_author)
    await _voted(http, ideas.url, tgt, u2, u4)

    r = await merge(http, ideas.url, src, tgt)
    assert r.status_code == 200, r.text
    assert r.json() == {"source_idea_id": src, "target_idea_id": tgt, "moved_votes": 2, "votes": 4}

    target = await _get(http, ideas.url, tgt)
    assert target["votes"] == 4 and target["recent_votes"] == 4
    assert [(m["idea_id"], m["moved_votes"], m["by"]) for m in target["merged_from"]] == [
        (src, 2, STAFF)
    ]
    source = await _get(http, ideas.url, src)
    assert source["merged_into"] == tgt and source["votes"] == 0

    (e,) = await recorder.wait(src, "IdeasMerged")
    assert e.id == merge_event_id(src, tgt) and recorder.keys[e.id] == src.encode()
    d = e.data
    assert (d.source_idea_id, d.target_idea_id, d.moved_votes) == (src, tgt, 2)
    assert (d.source_author_id, d.target_author_id, e.actorid) == (src_author, tgt_author, STAFF)

    # the source is a pointer: no votes, no status moves, no comments, not listed
    for user in (u1, uid("new")):
        r = await vote(http, ideas.url, src, user)
        assert r.status_code == 409 and r.json()["merged_into"] == tgt
    assert (await move(http, ideas.url, src, "planned")).status_code == 409
    r = await http.post(f"{ideas.url}/ideas/{src}/comments", headers=auth(u1), json={"body": "x"})
    assert r.status_code == 409
    listed = (await http.get(f"{ideas.url}/ideas", params={"category": "ui", "limit": 100})).json()
    assert src not in {i["idea_id"] for i in listed["items"]}
    # moved voters are real voters of the target: counted once, can withdraw
    assert (await vote(http, ideas.url, tgt, u1)).json() == {"votes": 4}
    assert (await vote(http, ideas.url, tgt, u2)).json() == {"votes": 4}
    assert (await vote(http, ideas.url, tgt, u1, 0)).json() == {"votes": 3}
    assert (await vote(http, ideas.url, tgt, u1)).json() == {"votes": 4}


async def test_merge_conflicts_and_bad_merges(
    ideas: ServiceProcess, http: httpx.AsyncClient, recorder: Recorder
) -> None:
    a, b, c = [await submit(http, ideas.url, uid("author")) for _ in range(3)]
    r = await merge(http, ideas.url, a, a)
    assert r.status_code == 409 and "itself" in r.json()["detail"]
    assert (await merge(http, ideas.url, a, b)).status_code == 200
    # a merged idea cannot be merged again, nor be a target
    r = await merge(http, ideas.url, a, c)
    assert r.status_code == 409 and r.json()["merged_into"] == b
    assert (await merge(http, ideas.url, a, b)).status_code == 409
    r = await merge(http, ideas.url, c, a)
    assert r.status_code == 409 and r.json()["field"] == "into_idea_id"
    # staff only; unknown ids
    r = await http.post(
        f"{ideas.url}/ideas/{c}/merge",
        headers=auth(uid("mod"), "moderator"),
        json={"into_idea_id": b},
    )
    assert r.status_code == 403
    r = await http.post(f"{ideas.url}/ideas/{c}/merge", json={"into_idea_id": b})
    assert r.status_code == 401
    r = await merge(http, ideas.url, c, "no-such-idea")
    assert r.status_code == 404 and r.json()["field"] == "into_idea_id"
    assert (await merge(http, ideas.url, "no-such-idea", c)).status_code == 404
    await recorder.wait(a, "IdeasMerged")
    await asyncio.sleep(1)
    assert len(recorder.of(a, "IdeasMerged")) == 1
    assert recorder.of(c, "IdeasMerged") == []


async def test_concurrent_merges_of_one_source_apply_once(
    ideas: ServiceProcess, replica: ServiceProcess, http: httpx.AsyncClient, recorder: Recorder
) -> None:
    src = await submit(http, ideas.url, uid("author"))
    t1 = await submit(http, ideas.url, uid("author"))
    t2 = await submit(http, ideas.url, uid("author"))
    voters = [uid(f"v{i}") for i in range(5)]
    await _voted(http, ideas.url, src, *voters)
    rs = await asyncio.gather(
        merge(http, ideas.url, src, t1),
        merge(http, replica.url, src, t2),
        merge(http, replica.url, src, t1),
        merge(http, ideas.url, src, t2),
    )
    ok = [r.json() for r in rs if r.status_code == 200]
    assert {r.status_code for r in rs} <= {200, 409} and ok
    winner = (await _get(http, ideas.url, src))["merged_into"]
    assert winner in (t1, t2) and all(o["target_idea_id"] == winner for o in ok)
    loser = t2 if winner == t1 else t1
    assert (await _get(http, ideas.url, winner))["votes"] == 5
    assert (await _get(http, ideas.url, loser))["votes"] == 0
    await recorder.wait(src, "IdeasMerged")
    await asyncio.sleep(1)
    (e,) = recorder.of(src, "IdeasMerged")
    assert e.data.target_idea_id == winner and e.data.moved_votes == 5


# ------------------------------------------------------------------ crashes mid-merge
async def _repo(mongo_db: Any) -> Repository[Idea]:
    return ideas_repository(IdeasDb(mongo_db))


async def _begin(repo: Repository[Idea], src: str, tgt: str, attempt: str, at: datetime) -> None:
    """Step 1 alone (what a crash right after it leaves behind)."""
    target = await repo.get(tgt)
    saved = await repo.change(src, lambda s: s.begin_merge(target, attempt, STAFF, at))
    assert saved.aggregate.merge_attempt == attempt


async def test_a_merge_interrupted_after_freezing_the_source_is_finished_by_the_service(
    ideas: ServiceProcess, http: httpx.AsyncClient, recorder: Recorder, ideas_db: Any
) -> None:
    """Crash after step 1 (source frozen, nothing moved): the background check finishes it."""
    repo = await _repo(ideas_db)
    src = await submit(http, ideas.url, uid("author"))
    tgt = await submit(http, ideas.url, uid("author"))
    both = uid("both")
    await _voted(http, ideas.url, src, both, uid("x"), uid("y"))
    await _voted(http, ideas.url, tgt, both)
    long_ago = datetime.now(UTC) - timedelta(minutes=5)
    await _begin(repo, src, tgt, uuid.uuid4().hex, long_ago)
    assert (await vote(http, ideas.url, src, uid("late"))).status_code == 409  # frozen

    async def merged() -> bool:
        return bool((await _get(http, ideas.url, src))["merged_into"] == tgt)

    await eventually(merged, timeout=30)
    assert (await _get(http, ideas.url, tgt))["votes"] == 3
    (e,) = await recorder.wait(src, "IdeasMerged")
    assert e.data.moved_votes == 2 and e.data.target_idea_id == tgt


async def test_a_merge_interrupted_after_moving_the_votes_is_finished_once(
    ideas: ServiceProcess, http: httpx.AsyncClient, recorder: Recorder, ideas_db: Any
) -> None:
    """Crash after step 2 (votes moved, event recorded, source not yet a pointer): repeating
    the request finishes it without moving or publishing anything twice."""
    repo = await _repo(ideas_db)
    src = await submit(http, ideas.url, uid("author"))
    tgt = await submit(http, ideas.url, uid("author"))
    await _voted(http, ideas.url, src, *(uid(f"s{i}") for i in range(4)))
    await _voted(http, ideas.url, tgt, uid("t"))
    attempt, at = uuid.uuid4().hex, datetime.now(UTC)
    await _begin(repo, src, tgt, attempt, at)
    source = await repo.get(src)  # every voter
    applied = await repo.change(tgt, lambda t: t.absorb(source, attempt, STAFF, at))
    assert [e.id for e in applied.events] == [merge_event_id(src, tgt)]
    # ... crash. The target already counts the moved votes; the source is still frozen.
    assert (await _get(http, ideas.url, tgt))["votes"] == 5
    replay = await repo.change(tgt, lambda t: t.absorb(source, attempt, STAFF, at))
    assert replay.events == [] and replay.aggregate.votes == 5  # a replay is a no-op

    r = await merge(http, ideas.url, src, tgt)  # staff repeats the request
    assert r.status_code == 200, r.text
    assert r.json()["moved_votes"] == 4 and r.json()["votes"] == 5
    assert (await _get(http, ideas.url, tgt))["votes"] == 5
    assert (await _get(http, ideas.url, src))["merged_into"] == tgt
    await recorder.wait(src, "IdeasMerged")
    await asyncio.sleep(1)
    assert len(recorder.of(src, "IdeasMerged")) == 1


async def test_an_interrupted_merge_whose_target_was_merged_meanwhile_is_released(
    ideas: ServiceProcess, http: httpx.AsyncClient, recorder: Recorder, ideas_db: Any
) -> None:
    repo = await _repo(ideas_db)
    src, tgt, other = [await submit(http, ideas.url, uid("author")) for _ in range(3)]
    await _voted(http, ideas.url, src, uid("v"))
    await _begin(repo, src, tgt, uuid.uuid4().hex, datetime.now(UTC))
    assert (await merge(http, ideas.url, tgt, other)).status_code == 200
    r = await merge(http, ideas.url, src, tgt)
    assert r.status_code == 409, r.text
    source = await _get(http, ideas.url, src)
    assert source["merged_into"] is None and source["votes"] == 1
    assert (await vote(http, ideas.url, src, uid("w"))).json() == {"votes": 2}  # votable again
    assert recorder.of(src, "IdeasMerged") == []
