"""Item 12: a bad bearer token is 401 problem+json on every service that takes one, and the
write it carried has no effect. Each case has its positive control (the same request with a
good token is accepted), so the test fails if the service stops checking."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from typing import Any

import httpx
import pytest

from ..conftest import ServiceProcess, eventually
from .conftest import auth, bearer, claims, signed, uid

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


def _b64(obj: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def bad_tokens(user: str) -> dict[str, dict[str, str]]:
    now = int(time.time())
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims(user, roles=['staff']))}."
    no_exp = claims(user)
    del no_exp["exp"]
    return {
        "missing": {},
        "not bearer": {"Authorization": "Basic YWxpY2U6cGFzc3dvcmQ="},
        "empty bearer": {"Authorization": "Bearer"},
        "malformed": bearer("not.a.jwt"),
        "garbage": bearer("x" * 300),
        "alg none": bearer(unsigned),
        "expired": signed(claims(user, iat=now - 7200, exp=now - 3600)),
        "wrong secret": signed(claims(user), secret="another-secret-of-enough-length-0123456789"),
        "no exp": signed(no_exp),
        "lifetime too long": signed(claims(user, exp=now + 365 * 86400)),
        "unknown role": signed(claims(user, roles=["superadmin"])),
        "empty sub": signed(claims("")),
    }


#: per service: a write that needs a token, its body, and how to find what it created
WRITES: dict[str, tuple[str, str, Any]] = {
    "forum": (
        "POST",
        "/threads",
        lambda tag: {"kind": "discussion", "title": f"jwt {tag}", "body": "b", "tags": [tag]},
    ),
    "ideas": (
        "POST",
        "/ideas",
        lambda tag: {
            "title": f"jwt {tag}",
            "description": "d",
            "category": tag,
            "product_area": "app",
        },
    ),
}


async def _created(http: httpx.AsyncClient, svc: ServiceProcess, tag: str) -> int:
    if svc.name == "forum":
        r = await http.get(f"{svc.url}/threads", params={"tag": tag, "limit": 100})
    else:
        r = await http.get(f"{svc.url}/ideas", params={"category": tag, "limit": 100})
    assert r.status_code == 200, r.text
    return len(r.json()["items"])


@pytest.mark.parametrize("name", sorted(WRITES))
async def test_bad_tokens_are_401_and_write_nothing(
    name: str, services: dict[str, ServiceProcess], http: httpx.AsyncClient
) -> None:
    svc = services[name]
    method, path, body = WRITES[name]
    tag = f"t{uuid.uuid4().hex[:10]}"
    user = uid("mallory")
    for case, headers in bad_tokens(user).items():
        r = await http.request(method, f"{svc.url}{path}", json=body(tag), headers=headers)
        assert r.status_code == 401, (case, r.status_code, r.text)
        assert r.headers["content-type"] == "application/problem+json", case
        assert r.headers["www-authenticate"] == "Bearer", case
        assert r.json()["status"] == 401, case
    assert await _created(http, svc, tag) == 0
    # the control: the same write with a good token is accepted
    r = await http.request(method, f"{svc.url}{path}", json=body(tag), headers=auth(user))
    assert r.status_code == 201, r.text

    async def listed() -> bool:  # the forum's lists are a read model, a batch behind
        return await _created(http, svc, tag) == 1

    await eventually(listed, timeout=30, interval=0.2)
    await asyncio.sleep(0.5)  # an earlier (refused) write would be listed by now too
    assert await _created(http, svc, tag) == 1


async def test_public_reads_reject_a_bad_token_rather_than_ignore_it(
    services: dict[str, ServiceProcess], http: httpx.AsyncClient
) -> None:
    """A read that a token personalises (GET /ideas/{id} shows the caller's vote) answers
    401 to a bad token instead of silently serving the anonymous view."""
    ideas = services["ideas"]
    r = await http.post(
        f"{ideas.url}/ideas",
        json={"title": "jwt read", "description": "d", "category": "c", "product_area": "a"},
        headers=auth(uid("alice")),
    )
    assert r.status_code == 201, r.text
    url = f"{ideas.url}/ideas/{r.json()['idea_id']}"
    assert (await http.get(url)).status_code == 200
    assert (await http.get(url, headers=auth(uid("bob")))).status_code == 200
    for case, headers in bad_tokens(uid("mallory")).items():
        if case == "missing":
            continue
        assert (await http.get(url, headers=headers)).status_code == 401, case


async def test_a_read_that_needs_a_token_says_read(
    services: dict[str, ServiceProcess], http: httpx.AsyncClient
) -> None:
    """Issue 11 gap 10: the 401 of a read does not talk about a write."""
    r = await http.get(f"{services['forum'].url}/escalations")
    assert r.status_code == 401, r.text
    assert "write" not in r.json()["detail"]
    assert r.json()["detail"].startswith("this read needs")
    r = await http.post(f"{services['ideas'].url}/ideas", json={})
    assert r.status_code == 401 and r.json()["detail"].startswith("this write needs")
