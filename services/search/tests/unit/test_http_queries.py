"""Query strings are data: any string gives results or a 422, never a 500."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from communitykit import problems
from search.entrypoints.http import router

NASTY = [
    '"',
    '""',
    '"""',
    '"unbalanced phrase',
    "title:router",
    "key:meta:position",
    "router AND (wifi OR",
    "+router -wifi",
    "router~2",
    "rou*er?",
    "/[a-z]+/",
    "[1 TO 5]",
    "{}",
    '{"$gt": ""}',
    "\\",
    '\\\\"',
    "NOT",
    "a" * 41,
    "\x00\x01\x1f",
    "\ud7ff\ue000",
    "東京 ルーター",
    "🙂🔥 router",
    "مرحبا",
    "ǅǆ Ⅻ ﬁ",
    "\u202eevil",
    "   ",
    "!!!",
    " ".join(["x"] * 500),
    " ".join(f'"w{i} v{i}"' for i in range(100)),
    "router " * 140,
]


class RecordingProducer:
    """Takes the query log's sends (test_query_log.py checks what they hold)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes | None]] = []

    async def send(self, topic: str, value: bytes, **kw: Any) -> asyncio.Future[None]:
        self.sent.append((topic, value, kw.get("key")))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


@pytest.fixture
def client(env: Any) -> FastAPI:
    f = env.feed
    env.apply(
        f.thread("How do I reset my router?", "It blinks orange", tags=["wifi"])[1],
        f.thread("東京 ルーター", "unicode title")[1],
        f.idea("i1", "Router idea", "faster"),
    )
    app = FastAPI()
    problems.install(app)
    app.include_router(router)
    app.state.runtime = SimpleNamespace(
        search=env.service, producer=RecordingProducer(), settings=SimpleNamespace()
    )
    return app


def _get(app: FastAPI, path: str, **params: Any) -> httpx.Response:
    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            return await c.get(path, params=params)

    r = asyncio.run(get())
    assert r.status_code in (200, 422), (params, r.status_code, r.text)
    if r.status_code == 422:
        assert r.headers["content-type"].startswith("application/problem+json")
    return r


@pytest.mark.parametrize("q", NASTY)
def test_nasty_queries_answer_or_refuse(client: FastAPI, q: str) -> None:
    r = _get(client, "/search", q=q)
    if r.status_code == 200:
        body = r.json()
        assert set(body) == {"items", "next_cursor"}
    _get(client, "/similar", title=q)


def test_a_10kb_query_is_refused_with_the_field_named(client: FastAPI) -> None:
    r = _get(client, "/search", q="router " * 1500)
    assert r.status_code == 422 and "q" in r.text


def test_operators_are_words_not_syntax(client: FastAPI) -> None:
    r = _get(client, "/search", q="title:router")
    assert [i["id"] for i in r.json()["items"]]  # "title" and "router" are plain words
    r = _get(client, "/search", q="東京")
    assert [i["title"] for i in r.json()["items"]] == ["東京 ルーター"]


@pytest.mark.parametrize(
    "params",
    [
        {"q": ""},
        {"q": "router", "limit": 0},
        {"q": "router", "limit": 101},
        {"q": "router", "cursor": "not-a-cursor"},
        {"q": "router", "cursor": "OTk5OTk5"},
        {"q": "router", "kind": ""},
        {},
    ],
)
def test_bad_parameters_are_422(client: FastAPI, params: dict[str, Any]) -> None:
    r = _get(client, "/search", **params)
    assert r.status_code == 422


def test_cursor_pages(client: FastAPI) -> None:
    r = _get(client, "/search", q="router", limit=1)
    body = r.json()
    assert len(body["items"]) == 1 and body["next_cursor"]
    r2 = _get(client, "/search", q="router", limit=1, cursor=body["next_cursor"])
    assert r2.json()["items"][0]["id"] != body["items"][0]["id"]


def test_a_cursor_is_bound_to_its_query_and_filters(client: FastAPI) -> None:
    cursor = _get(client, "/search", q="router", limit=1).json()["next_cursor"]
    for params in [{"q": "routers"}, {"q": "router", "kind": "question"}]:
        r = _get(client, "/search", limit=1, cursor=cursor, **params)
        assert r.status_code == 422 and r.json()["field"] == "cursor"
        assert "different query" in r.json()["detail"]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(q=st.text(min_size=0, max_size=1200))
def test_any_string(client: FastAPI, q: str) -> None:
    _get(client, "/search", q=q)
    _get(client, "/similar", title=q)
