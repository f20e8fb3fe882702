"""The kit's HTTP protections on an app built by ``create_app`` (no servers: the lifespan,
which connects, is not run): per-user write limits (429), load shedding (503), the 401
messages, 405 with ``Allow``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import APIRouter

from communitykit.app import create_app
from communitykit.auth import CurrentUser, OptionalUser, make_token
from communitykit.limits import InFlightLimit, WriteRateLimiter
from communitykit.settings import ServiceSettings

SECRET = "unit-test-secret-0123456789-0123456789"

router = APIRouter()
gate = asyncio.Event()


@router.post("/things")
async def create_thing(user: CurrentUser) -> dict[str, Any]:
    return {"by": user.user_id}


@router.get("/things")
async def list_things(viewer: OptionalUser) -> dict[str, Any]:
    return {"viewer": viewer.user_id if viewer else None}


@router.get("/mine")
async def mine(user: CurrentUser) -> dict[str, Any]:
    return {"user": user.user_id}


@router.delete("/things/{thing_id}")
async def delete_thing(thing_id: str, user: CurrentUser) -> dict[str, Any]:
    return {"deleted": thing_id}


@router.get("/slow")
async def slow() -> dict[str, Any]:
    await gate.wait()
    return {"ok": True}


def _app(**settings: Any) -> httpx.AsyncClient:
    s = ServiceSettings(service_name="unit", jwt_secret=SECRET, **settings)
    app = create_app(s, title="unit", routers=[router], runtime_factory=lambda _: None)  # type: ignore[arg-type,return-value]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


def _auth(user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(SECRET, user)}"}


@pytest_asyncio.fixture(loop_scope="session")
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with _app(write_rate_per_minute=60, write_burst=3) as c:
        yield c


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_gcra_burst_then_the_sustained_rate() -> None:
    clock = Clock()
    lim = WriteRateLimiter(60, 3, clock=clock)
    assert [lim.check("a") for _ in range(3)] == [0, 0, 0]
    assert lim.check("a") == pytest.approx(1.0)  # one write a second refills
    assert lim.check("b") == 0  # per user
    clock.t += 1.0
    assert lim.check("a") == 0
    assert lim.check("a") == pytest.approx(1.0)
    clock.t += 10  # a quiet spell refills the burst, never more
    assert [lim.check("a") for _ in range(4)][-1] == pytest.approx(1.0)


def test_gcra_table_stays_bounded() -> None:
    clock = Clock()
    lim = WriteRateLimiter(60, 1, max_users=100, clock=clock)
    for i in range(1000):
        lim.check(f"u{i}")
        clock.t += 0.01
    assert len(lim._tat) <= 100

    # pruning forgets the refilled users only: a user still limited stays limited
    small = WriteRateLimiter(60, 1, max_users=3, clock=clock)
    for u in ("a", "b", "c"):
        small.check(u)
    clock.t += 2  # a, b and c have refilled
    assert small.check("busy") == 0
    assert small.check("d") == 0 and small.check("e") == 0
    assert small.check("busy") > 0
    assert len(small._tat) <= 3


@pytest.mark.asyncio(loop_scope="session")
async def test_writes_over_the_limit_are_429_with_retry_after(client: httpx.AsyncClient) -> None:
    codes = [(await client.post("/things", headers=_auth("alice"))).status_code for _ in range(3)]
    assert codes == [200, 200, 200]
    r = await client.post("/things", headers=_auth("alice"))
    assert r.status_code == 429
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["retry-after"] == "1"
    assert r.json()["status"] == 429
    # deletes count too; another user is not limited; reads are not writes
    assert (await client.delete("/things/x", headers=_auth("alice"))).status_code == 429
    assert (await client.post("/things", headers=_auth("bob"))).status_code == 200
    assert (await client.get("/mine", headers=_auth("alice"))).status_code == 200


@pytest.mark.asyncio(loop_scope="session")
async def test_the_limit_can_be_turned_off() -> None:
    async with _app(write_rate_per_minute=0) as c:
        codes = {(await c.post("/things", headers=_auth("alice"))).status_code for _ in range(50)}
    assert codes == {200}


@pytest.mark.asyncio(loop_scope="session")
async def test_401_messages_name_a_read_or_a_write(client: httpx.AsyncClient) -> None:
    r = await client.get("/mine")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert r.json()["detail"].startswith("this read needs")
    r = await client.post("/things")
    assert r.status_code == 401 and r.json()["detail"].startswith("this write needs")


@pytest.mark.asyncio(loop_scope="session")
async def test_optional_user_rejects_a_bad_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/things")).json() == {"viewer": None}
    assert (await client.get("/things", headers=_auth("bob"))).json() == {"viewer": "bob"}
    r = await client.get("/things", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    r = await client.get("/things", headers={"Authorization": "Basic Ym9iOng="})
    assert r.status_code == 401


@pytest.mark.asyncio(loop_scope="session")
async def test_superadmin_is_401(client: httpx.AsyncClient) -> None:
    token = make_token(SECRET, "mallory", roles=["superadmin"])
    r = await client.post("/things", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401 and "superadmin" in r.json()["detail"]


@pytest.mark.asyncio(loop_scope="session")
async def test_405_lists_every_method_of_the_path(client: httpx.AsyncClient) -> None:
    r = await client.patch("/things")
    assert r.status_code == 405
    assert r.headers["content-type"] == "application/problem+json"
    assert set(r.headers["allow"].split(", ")) == {"GET", "POST"}
    r = await client.put("/things/1")
    assert r.status_code == 405 and r.headers["allow"] == "DELETE"


@pytest.mark.asyncio(loop_scope="session")
async def test_requests_over_the_in_flight_limit_are_shed_at_once() -> None:
    gate.clear()
    async with _app(max_in_flight_requests=2, overload_retry_after_seconds=3) as c:
        held = [asyncio.create_task(c.get("/slow")) for _ in range(2)]
        await asyncio.sleep(0.05)
        r = await asyncio.wait_for(c.get("/slow"), 2)
        assert r.status_code == 503
        assert r.headers["retry-after"] == "3"
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["status"] == 503
        # probes are never shed
        assert (await c.get("/healthz")).status_code == 200
        gate.set()
        assert [h.status_code for h in await asyncio.gather(*held)] == [200, 200]
        # capacity is back once the held requests are done
        assert (await c.get("/slow")).status_code == 200


@pytest.mark.asyncio(loop_scope="session")
async def test_shedding_is_the_outermost_layer() -> None:
    """A shed request costs no other work: the in-flight limit wraps the whole stack, the
    tracing middleware (which FastAPIInstrumentor wraps around the error middleware) too."""
    s = ServiceSettings(service_name="unit", jwt_secret=SECRET, max_in_flight_requests=2)
    app = create_app(s, title="unit", routers=[router], runtime_factory=lambda _: None)  # type: ignore[arg-type,return-value]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        assert (await c.get("/healthz")).status_code == 200
    assert isinstance(app.middleware_stack, InFlightLimit)
