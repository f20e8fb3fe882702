"""Fixtures of the search integration suite: a search process next to the session's forum."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ...conftest import RUN_ID, ServiceProcess, eventually, service_env
from ...servers import ROOT, Servers


def search_process(servers: Servers, suffix: str, **extra: str) -> ServiceProcess:
    """A search service with an index directory and consumer group of its own. It starts at
    the end of the topics (SEARCH_START_FROM=latest, recorded as the index's origin), so it
    indexes only what the test produces, not the shared topics' history."""
    index = ROOT / ".run" / "test" / f"search-{RUN_ID}-{suffix}"
    shutil.rmtree(index, ignore_errors=True)
    env = service_env(
        servers,
        "search",
        f"{suffix}",
        SEARCH_INDEX_PATH=str(index),
        SEARCH_START_FROM="latest",
        **extra,
    )
    return ServiceProcess("search", env)


def index_path(svc: ServiceProcess) -> Path:
    return Path(svc.env["SEARCH_INDEX_PATH"])


@pytest.fixture(scope="module")
def search(servers: Servers, stack: dict[str, ServiceProcess]) -> Iterator[ServiceProcess]:
    svc = search_process(servers, uuid.uuid4().hex[:6]).start()
    try:
        yield svc
    finally:
        svc.stop()
        shutil.rmtree(index_path(svc), ignore_errors=True)


async def found(
    http: httpx.AsyncClient, svc: ServiceProcess, q: str, **params: Any
) -> list[dict[str, Any]]:
    r = await http.get(f"{svc.url}/search", params={"q": q, **params})
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def wait_found(
    http: httpx.AsyncClient, svc: ServiceProcess, q: str, ident: str, *, present: bool = True
) -> list[dict[str, Any]]:
    async def check() -> list[dict[str, Any]] | bool:
        items = await found(http, svc, q)
        hit = any(i["id"] == ident for i in items)
        return (items or [{}]) if hit == present else False

    result: list[dict[str, Any]] = await eventually(check, timeout=30, interval=0.1)
    return result
