"""RED metrics of every app built by ``create_app``: counted per method, route template and
status by plain ASGI middleware (no servers: the lifespan is not run)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from prometheus_client import REGISTRY

from communitykit.app import create_app
from communitykit.auth import CurrentUser, make_token
from communitykit.metrics import RedMetrics
from communitykit.problems import NotFoundError
from communitykit.settings import ServiceSettings

pytestmark = pytest.mark.asyncio

router = APIRouter()


@router.put("/red/{item_id}")
async def put_item(item_id: str, user: CurrentUser) -> dict[str, Any]:
    if item_id == "missing":
        raise NotFoundError("no such item")
    if item_id == "boom":
        raise RuntimeError("unexpected")
    return {"id": item_id}


def count(method: str, route: str, status: str) -> float:
    v = REGISTRY.get_sample_value(
        "http_requests_total", {"method": method, "route": route, "status": status}
    )
    return v or 0.0


def observed(method: str, route: str) -> float:
    v = REGISTRY.get_sample_value(
        "http_request_duration_seconds_count", {"method": method, "route": route}
    )
    return v or 0.0


async def test_requests_are_counted_by_route_template_and_status() -> None:
    s = ServiceSettings(service_name="unit", jwt_secret="unit-secret-0123456789-0123456789")
    app = create_app(s, title="unit", routers=[router], runtime_factory=lambda _: None)  # type: ignore[arg-type,return-value]
    assert any(getattr(m, "cls", None) is RedMetrics for m in app.user_middleware)
    route = "/red/{item_id}"
    before = {st: count("PUT", route, st) for st in ("401", "404", "500")}
    before_n = observed("PUT", route)
    before_unmatched = count("GET", "unmatched", "404")
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        assert (await c.put("/red/a")).status_code == 401  # no token
        h = {"Authorization": f"Bearer {make_token('unit-secret-0123456789-0123456789', 'u')}"}
        assert (await c.put("/red/missing", headers=h)).status_code == 404
        assert (await c.put("/red/boom", headers=h)).status_code == 500
        assert (await c.get("/nowhere")).status_code == 404
    assert count("PUT", route, "401") == before["401"] + 1
    assert count("PUT", route, "404") == before["404"] + 1
    assert count("PUT", route, "500") == before["500"] + 1
    assert observed("PUT", route) == before_n + 3
    assert count("GET", "unmatched", "404") == before_unmatched + 1
