"""A SIGTERM's graceful stop is never held up by a background task: the consumers are
stopped (their batch finishes and commits) even when a task swallowed its cancellation,
as Python 3.11's ``asyncio.wait_for`` does when the awaited call completes in the same
loop step as the cancel (seen in the chaos suite: a service kept consuming for the whole
grace period after SIGTERM and was killed). No servers: nothing is started."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from communitykit import app as kit_app
from communitykit.app import Runtime
from communitykit.settings import ServiceSettings

pytestmark = pytest.mark.asyncio


def runtime(**kw: Any) -> Runtime:
    s = ServiceSettings(
        service_name="unit",
        jwt_secret="unit-secret-0123456789-0123456789",
        mongodb_url="mongodb://127.0.0.1:1",
        kafka_bootstrap_servers="127.0.0.1:1",
    )
    return Runtime(s, **kw)


async def test_stop_reaches_the_consumers_when_a_task_ignores_its_cancellation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(kit_app, "TASKS_STOP_SECONDS", 0.2)
    rt = runtime()
    stopped: list[str] = []

    async def broker_stop() -> None:
        stopped.append("broker")

    monkeypatch.setattr(rt.broker, "stop", broker_stop)

    async def stubborn() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            pass  # the lost cancellation: it goes on as if nothing happened
        await asyncio.sleep(3600)

    task = asyncio.create_task(stubborn())
    rt.tasks.append(task)
    await asyncio.sleep(0)
    t0 = time.monotonic()
    await asyncio.wait_for(rt.stop(), 5)
    assert stopped == ["broker"]
    assert time.monotonic() - t0 < 2
    task.cancel()  # cleanup: a second cancel ends it
    await asyncio.gather(task, return_exceptions=True)


async def test_the_lag_refresh_ends_at_stop_without_being_cancelled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rt = runtime(lag_refresh_seconds=0.05)
    refreshed: list[float] = []

    async def refresh(_: Any) -> None:
        refreshed.append(time.monotonic())

    monkeypatch.setattr(kit_app.metrics, "refresh_consumer_lag", refresh)
    task = asyncio.create_task(rt._refresh_lag())
    await asyncio.sleep(0.2)
    assert refreshed, "the refresh loop never ran"
    rt.stopping.set()  # no cancel: the loop itself must notice
    await asyncio.wait_for(task, 1)
