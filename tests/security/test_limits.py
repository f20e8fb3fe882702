"""Item 13 and the overload part of item 8 on real processes: per-user write limits answer
429 problem+json with Retry-After (and write nothing), load beyond the in-flight limit is
shed at once with 503 + Retry-After, and both recover. Settings as an operator sets them."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ..conftest import ServiceProcess, eventually, from_end, service_env
from ..servers import Servers
from .conftest import auth, uid

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

RATE_PER_MINUTE = 30  # one write every 2 s once the burst is spent
BURST = 3


def limited_env(servers: Servers, name: str) -> dict[str, str]:
    p = name.upper()
    return service_env(
        servers,
        name,
        "seclim",
        **{
            f"{p}_WRITE_RATE_PER_MINUTE": str(RATE_PER_MINUTE),
            f"{p}_WRITE_BURST": str(BURST),
            f"{p}_MAX_IN_FLIGHT_REQUESTS": "2",
            f"{p}_OVERLOAD_RETRY_AFTER_SECONDS": "2",
        },
    )


@pytest.fixture(scope="module", params=["ideas", "forum"])
def limited(request: pytest.FixtureRequest, servers: Servers) -> Iterator[ServiceProcess]:
    svc = ServiceProcess(request.param, limited_env(servers, request.param))
    from_end(servers, svc)  # its consumers see this test's events, not the topics' history
    svc.start()
    try:
        yield svc
    finally:
        svc.stop()


def write(svc: ServiceProcess, tag: str) -> tuple[str, dict[str, Any]]:
    if svc.name == "ideas":
        body = {"title": "rate", "description": "d", "category": tag, "product_area": "a"}
        return "/ideas", body
    return "/threads", {"kind": "discussion", "title": "rate", "body": "b", "tags": [tag]}


async def count(http: httpx.AsyncClient, svc: ServiceProcess, tag: str) -> int:
    path, params = (
        ("/ideas", {"category": tag}) if svc.name == "ideas" else ("/threads", {"tag": tag})
    )
    r = await http.get(f"{svc.url}{path}", params={**params, "limit": 100})
    assert r.status_code == 200, r.text
    return len(r.json()["items"])


async def test_writes_over_the_per_user_limit_are_429(
    limited: ServiceProcess, http: httpx.AsyncClient
) -> None:
    tag = f"r{uuid.uuid4().hex[:10]}"
    path, body = write(limited, tag)
    alice, bob = auth(uid("alice")), auth(uid("bob"))
    url = f"{limited.url}{path}"
    codes = [(await http.post(url, json=body, headers=alice)).status_code for _ in range(BURST)]
    assert codes == [201] * BURST
    r = await http.post(url, json=body, headers=alice)
    assert r.status_code == 429, r.text
    assert r.headers["content-type"] == "application/problem+json"
    retry_after = int(r.headers["retry-after"])
    assert 1 <= retry_after <= 60 // RATE_PER_MINUTE
    assert r.json()["status"] == 429
    # per user: bob is not limited by alice; reads are not writes
    assert (await http.post(url, json=body, headers=bob)).status_code == 201

    async def listed() -> bool:  # the forum's lists are a read model, a batch behind
        return await count(http, limited, tag) == BURST + 1

    await eventually(listed, timeout=30, interval=0.2)
    await asyncio.sleep(0.5)  # a write of the 429 would be listed by now too
    assert (await count(http, limited, tag)) == BURST + 1  # the 429 wrote nothing
    # after Retry-After, alice may write again; the rate refills, not a whole new burst
    await asyncio.sleep(retry_after)
    assert (await http.post(url, json=body, headers=alice)).status_code == 201
    more = [(await http.post(url, json=body, headers=alice)).status_code for _ in range(BURST)]
    assert 429 in more, more


async def test_load_beyond_the_in_flight_limit_is_shed_fast(
    limited: ServiceProcess, http: httpx.AsyncClient
) -> None:
    path = "/ideas" if limited.name == "ideas" else "/threads"
    url = f"{limited.url}{path}"
    limits = httpx.Limits(max_connections=60, max_keepalive_connections=60)
    async with httpx.AsyncClient(timeout=10, limits=limits) as burst:

        async def get() -> tuple[int, str | None, float]:
            t = time.perf_counter()
            r = await burst.get(url, params={"limit": 100})
            return r.status_code, r.headers.get("retry-after"), time.perf_counter() - t

        results = await asyncio.gather(*(get() for _ in range(60)))
    codes = [c for c, _, _ in results]
    assert set(codes) <= {200, 503}, codes
    shed = [(c, ra, took) for c, ra, took in results if c == 503]
    assert shed, "60 concurrent reads never exceeded an in-flight limit of 2"
    assert all(ra == "2" for _, ra, _ in shed)
    assert 200 in codes
    # recovery: once the burst is over, a client that honours Retry-After is served (the
    # server may still be finishing the last responses of the burst for a moment)
    for _ in range(3):
        r = await http.get(url)
        if r.status_code != 503:
            break
        await asyncio.sleep(int(r.headers["retry-after"]))
    assert r.status_code == 200, r.text
    metrics = (await http.get(f"{limited.url}/metrics")).text
    assert "http_requests_shed_total" in metrics
