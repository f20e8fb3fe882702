"""The thinnest real slice (issue 2): question → up-vote → forum.events → reputation = 6."""

from __future__ import annotations

import httpx
import pytest

from ..conftest import RUN_ID, ServiceProcess, auth, eventually

ALICE = f"alice-{RUN_ID}"

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]


async def test_upvote_on_a_question_gives_its_author_six(
    stack: dict[str, ServiceProcess], http: httpx.AsyncClient
) -> None:
    forum, reputation = stack["forum"].url, stack["reputation"].url
    r = await http.post(
        f"{forum}/threads",
        headers=auth(ALICE),
        json={
            "kind": "question",
            "title": "How do I reset my router?",
            "body": "It blinks orange.",
        },
    )
    assert r.status_code == 201, r.text
    post_id = r.json()["post_id"]

    r = await http.put(
        f"{forum}/posts/{post_id}/vote", headers=auth(f"bob-{RUN_ID}"), json={"value": 1}
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"score": 1}

    async def six() -> bool:
        body = (await http.get(f"{reputation}/users/{ALICE}")).json()
        return body["reputation"] == 6

    await eventually(six)
    body = (await http.get(f"{reputation}/users/{ALICE}")).json()
    assert body["level"] == 0 and body["points_to_next_level"] == 4
    ledger = (await http.get(f"{reputation}/users/{ALICE}/ledger")).json()["items"]
    assert [(e["delta"], e["reason"]) for e in ledger] == [(5, "upvote-question")]


async def test_voting_on_your_own_post_is_forbidden(
    stack: dict[str, ServiceProcess], http: httpx.AsyncClient
) -> None:
    forum = stack["forum"].url
    r = await http.post(
        f"{forum}/threads",
        headers=auth(f"carol-{RUN_ID}"),
        json={"kind": "discussion", "title": "Hi", "body": "Hello all"},
    )
    post_id = r.json()["post_id"]
    r = await http.put(
        f"{forum}/posts/{post_id}/vote", headers=auth(f"carol-{RUN_ID}"), json={"value": 1}
    )
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "question", "title": "", "body": "x"}, "title"),
        ({"kind": "question", "title": "t" * 201, "body": "x"}, "title"),
        ({"kind": "poem", "title": "t", "body": "x"}, "kind"),
        ({"kind": "review", "title": "t", "body": "x", "rating": 3}, "product_id"),
        ({"kind": "review", "title": "t", "body": "x", "product_id": "p", "rating": 6}, "rating"),
        ({"kind": "question", "title": "t", "body": "x", "admin": True}, "admin"),
    ],
)
async def test_bad_input_is_a_422_naming_the_field(
    stack: dict[str, ServiceProcess], http: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    r = await http.post(f"{stack['forum'].url}/threads", headers=auth(f"dave-{RUN_ID}"), json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["field"] == field


async def test_writes_need_a_valid_token(
    stack: dict[str, ServiceProcess], http: httpx.AsyncClient
) -> None:
    url = f"{stack['forum'].url}/threads"
    body = {"kind": "question", "title": "t", "body": "x"}
    assert (await http.post(url, json=body)).status_code == 401
    bad = {"Authorization": "Bearer not-a-jwt"}
    assert (await http.post(url, json=body, headers=bad)).status_code == 401


async def test_health_and_readiness(
    stack: dict[str, ServiceProcess], http: httpx.AsyncClient
) -> None:
    for svc in stack.values():
        assert (await http.get(f"{svc.url}/healthz")).status_code == 200
        ready = await http.get(f"{svc.url}/readyz")
        assert ready.status_code == 200 and ready.json() == {
            "status": "ready",
            "kafka": True,
            "mongodb": True,
        }
