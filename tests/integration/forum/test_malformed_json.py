"""Malformed JSON is a clear problem on the running service (issue 11, gap 10; kit fix)."""

from __future__ import annotations

import httpx
import pytest

from ...conftest import ServiceProcess, auth
from .conftest import uid

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


@pytest.mark.parametrize("path", ["/groups", "/threads"])
async def test_malformed_json_names_the_body_and_position(
    forum: ServiceProcess, http: httpx.AsyncClient, path: str
) -> None:
    raw = '{"name": "x",, "kind": "question"}'
    r = await http.post(
        forum.url + path,
        headers={**auth(uid("j")), "content-type": "application/json"},
        content=raw,
    )
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    p = r.json()
    assert (p["title"], p["field"], p["position"]) == ("Malformed JSON", "body", 13)
    assert "not valid JSON at character 13" in p["detail"]
