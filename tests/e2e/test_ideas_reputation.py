"""Ideas → ideas.events → reputation, end to end over HTTP (SPEC 4): +5 per standing up-vote
on an idea, +10 when it is planned, +25 when completed; `popular-idea` at 10 votes and
`visionary` when completed. Read only through reputation's API (GET /users/{id})."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ..conftest import RUN_ID, ServiceProcess, auth, eventually, running_stack
from ..servers import Servers

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

AUTHOR = f"ada-{RUN_ID}"
STAFF = f"sam-{RUN_ID}"


@pytest.fixture(scope="module")
def ideas_stack(servers: Servers) -> Iterator[dict[str, ServiceProcess]]:
    with running_stack(servers, suffix="ir", names=("ideas", "reputation")) as procs:
        yield procs


async def test_votes_and_status_move_the_authors_reputation(
    ideas_stack: dict[str, ServiceProcess], http: httpx.AsyncClient
) -> None:
    ideas, reputation = ideas_stack["ideas"].url, ideas_stack["reputation"].url

    async def user() -> dict[str, Any]:
        r = await http.get(f"{reputation}/users/{AUTHOR}")
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    async def reaches(points: int, *badges: str) -> None:
        async def check() -> dict[str, Any] | None:
            u = await user()
            ok = u["reputation"] == points and set(badges) <= set(u["badges"])
            return u if ok else None

        await eventually(check, timeout=45)

    r = await http.post(
        f"{ideas}/ideas",
        headers=auth(AUTHOR),
        json={
            "title": "Export my data as CSV",
            "description": "One click export of my orders.",
            "category": "feature",
            "product_area": "account",
        },
    )
    assert r.status_code == 201, r.text
    iid = r.json()["idea_id"]

    voters = [f"voter{i}-{RUN_ID}" for i in range(10)]
    for n, v in enumerate(voters[:9], start=1):
        r = await http.put(f"{ideas}/ideas/{iid}/vote", headers=auth(v), json={"value": 1})
        assert r.json() == {"votes": n}
    await reaches(1 + 9 * 5)
    assert "popular-idea" not in (await user())["badges"]

    # the tenth vote makes it popular; a withdrawal reverses exactly its +5
    r = await http.put(f"{ideas}/ideas/{iid}/vote", headers=auth(voters[9]), json={"value": 1})
    assert r.json() == {"votes": 10}
    await reaches(51, "popular-idea")
    r = await http.put(f"{ideas}/ideas/{iid}/vote", headers=auth(voters[0]), json={"value": 0})
    assert r.json() == {"votes": 9}
    await reaches(46, "popular-idea")
    r = await http.put(f"{ideas}/ideas/{iid}/vote", headers=auth(voters[0]), json={"value": 1})
    await reaches(51, "popular-idea")

    async def move(status: str) -> None:
        r = await http.put(
            f"{ideas}/ideas/{iid}/status",
            headers=auth(STAFF, "staff"),
            json={"status": status, "note": f"now {status}"},
        )
        assert r.status_code == 200, r.text

    await move("planned")
    await reaches(61)
    await move("in_progress")
    await asyncio.sleep(1)
    assert (await user())["reputation"] == 61  # in_progress earns nothing
    assert "visionary" not in (await user())["badges"]
    await move("completed")
    await reaches(86, "popular-idea", "visionary")

    got = (await http.get(f"{ideas}/ideas/{iid}")).json()
    assert got["status"] == "completed" and got["votes"] == 10
    assert [h["to_status"] for h in got["status_history"]] == [
        "planned",
        "in_progress",
        "completed",
    ]
