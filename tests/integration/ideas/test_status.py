"""The status workflow over HTTP: every legal and every illegal move, staff only, with the
history in GET and IdeaStatusChanged on ideas.events."""

from __future__ import annotations

import asyncio
from collections import deque
from itertools import pairwise, product

import httpx
import pytest

from ideas.domain.workflow import STATUSES, TRANSITIONS

from ...conftest import ServiceProcess, auth
from .conftest import STAFF, Recorder, move, submit, uid

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

#: the documented state machine, written out (the service's table must say the same)
LEGAL = {
    ("new", "under_review"),
    ("new", "planned"),
    ("new", "declined"),
    ("under_review", "planned"),
    ("under_review", "declined"),
    ("planned", "in_progress"),
    ("planned", "under_review"),
    ("planned", "declined"),
    ("in_progress", "completed"),
    ("in_progress", "planned"),
    ("in_progress", "declined"),
    ("declined", "under_review"),
}


def path_to(status: str) -> list[str]:
    """The shortest chain of legal moves from ``new`` to ``status``."""
    queue: deque[list[str]] = deque([["new"]])
    while queue:
        p = queue.popleft()
        if p[-1] == status:
            return p[1:]
        queue.extend([*p, b] for a, b in sorted(LEGAL) if a == p[-1] and b not in p)
    raise AssertionError(status)


async def test_the_table_is_the_documented_one() -> None:
    assert {(a, b) for a, bs in TRANSITIONS.items() for b in bs} == LEGAL


async def _idea_in(http: httpx.AsyncClient, url: str, status: str) -> tuple[str, str]:
    author = uid("author")
    iid = await submit(http, url, author)
    for s in path_to(status):
        r = await move(http, url, iid, s)
        assert r.status_code == 200, r.text
    return iid, author


async def test_every_legal_move(
    ideas: ServiceProcess, http: httpx.AsyncClient, recorder: Recorder
) -> None:
    async def one(a: str, b: str) -> None:
        iid, author = await _idea_in(http, ideas.url, a)
        r = await move(http, ideas.url, iid, b, note=f"{a} to {b}")
        assert r.status_code == 200, (a, b, r.text)
        assert r.json()["status"] == b
        got = (await http.get(f"{ideas.url}/ideas/{iid}")).json()
        chain = ["new", *path_to(a), b]
        assert got["status"] == b
        assert [(h["from_status"], h["to_status"]) for h in got["status_history"]] == list(
            pairwise(chain)
        )
        last = got["status_history"][-1]
        assert last["changed_by"] == STAFF and last["note"] == f"{a} to {b}" and last["at"]
        events = await recorder.wait(iid, "IdeaStatusChanged", len(chain) - 1)
        e = events[-1]
        assert (e.data.from_status, e.data.to_status, e.data.changed_by, e.data.note) == (
            a,
            b,
            STAFF,
            f"{a} to {b}",
        )
        assert e.data.author_id == author and e.actorid == STAFF
        assert recorder.keys[e.id] == iid.encode()

    await asyncio.gather(*(one(a, b) for a, b in sorted(LEGAL)))


async def test_every_illegal_move_is_a_409_naming_both_states(
    ideas: ServiceProcess, http: httpx.AsyncClient, recorder: Recorder
) -> None:
    async def from_state(a: str) -> None:
        iid, _ = await _idea_in(http, ideas.url, a)
        for b in STATUSES:
            if (a, b) in LEGAL:
                continue
            r = await move(http, ideas.url, iid, b)
            assert r.status_code == 409, (a, b, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            p = r.json()
            assert f"'{a}'" in p["detail"] and f"'{b}'" in p["detail"], p
            assert (p["from_status"], p["to_status"]) == (a, b)
        got = (await http.get(f"{ideas.url}/ideas/{iid}")).json()
        assert got["status"] == a and len(got["status_history"]) == len(path_to(a))
        n = len(path_to(a))
        if n:
            await recorder.wait(iid, "IdeaStatusChanged", n)
        await asyncio.sleep(1)  # and no event for any refused move
        assert len(recorder.of(iid, "IdeaStatusChanged")) == n

    await asyncio.gather(*(from_state(a) for a in STATUSES))
    assert len(list(product(STATUSES, repeat=2))) - len(LEGAL) == 24


async def test_only_staff_move_ideas(ideas: ServiceProcess, http: httpx.AsyncClient) -> None:
    author = uid("author")
    iid = await submit(http, ideas.url, author)
    url = f"{ideas.url}/ideas/{iid}/status"
    for who in (auth(author), auth(uid("mod"), "moderator"), auth(uid("sup"), "support")):
        r = await http.put(url, headers=who, json={"status": "planned"})
        assert r.status_code == 403, r.text
    assert (await http.put(url, json={"status": "planned"})).status_code == 401
    assert (await http.get(f"{ideas.url}/ideas/{iid}")).json()["status"] == "new"


async def test_concurrent_moves_from_one_state_apply_once(
    ideas: ServiceProcess, replica: ServiceProcess, http: httpx.AsyncClient, recorder: Recorder
) -> None:
    """Two staff move the same idea new → planned on two replicas at once: one wins, the
    other finds it already planned (409 planned → planned), one event."""
    iid = await submit(http, ideas.url, uid("author"))
    rs = await asyncio.gather(
        *(move(http, url, iid, "planned") for url in (ideas.url, replica.url) * 3)
    )
    assert sorted(r.status_code for r in rs) == [200, 409, 409, 409, 409, 409]
    await recorder.wait(iid, "IdeaStatusChanged")
    await asyncio.sleep(1)
    assert len(recorder.of(iid, "IdeaStatusChanged")) == 1
    got = (await http.get(f"{ideas.url}/ideas/{iid}")).json()
    assert len(got["status_history"]) == 1
