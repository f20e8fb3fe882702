"""communitykit.problems: problem+json for bad input, for every service's app."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel
from pymongo import errors

from communitykit import problems


class Body(BaseModel):
    name: str
    count: int


def post(**kwargs: Any) -> httpx.Response:
    app = FastAPI()
    problems.install(app)

    @app.post("/things")
    def create(body: Body) -> dict[str, str]:
        return {"name": body.name}

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            return await c.post("/things", **kwargs)

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("raw", "position", "reason"),
    [
        ('{"name": "x",, "count": 1}', 13, "Expecting property name"),
        ('{"name": "x", "count": ', 23, "Expecting value"),
        ('{"name": "x", "count": 1}{', 25, "Extra data"),
    ],
)
def test_malformed_json_says_so_and_where(raw: str, position: int, reason: str) -> None:
    r = post(content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    p = r.json()
    assert p["title"] == "Malformed JSON" and p["field"] == "body"
    assert p["position"] == position  # the offset is a position, never a field name
    assert p["detail"].startswith(f"the request body is not valid JSON at character {position}")
    assert reason in p["detail"]
    assert p["errors"] == [{"field": "body", "message": p["detail"], "position": position}]


def test_valid_json_with_a_bad_field_still_names_the_field() -> None:
    r = post(json={"name": "x", "count": "many"})
    assert r.status_code == 422
    p = r.json()
    assert p["title"] == "Invalid input" and p["field"] == "count"
    assert p["detail"].startswith("count: ")


@pytest.mark.parametrize(
    "error",
    [
        errors.ServerSelectionTimeoutError("no server"),
        errors.AutoReconnect("connection reset"),
        errors.NetworkTimeout("slow"),
    ],
    ids=type,
)
def test_an_unreachable_store_is_a_503_with_retry_after_not_a_500(error: Exception) -> None:
    app = FastAPI()
    problems.install(app)

    @app.post("/things")
    def create() -> None:
        raise error

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            return await c.post("/things")

    r = asyncio.run(go())
    assert r.status_code == 503
    assert r.headers["content-type"] == problems.PROBLEM_JSON
    assert r.headers["retry-after"] == str(problems.STORE_RETRY_AFTER_SECONDS)
    assert "Idempotency-Key" in r.json()["detail"]
