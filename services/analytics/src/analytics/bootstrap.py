"""All wiring of the analytics service; nothing connects at import time."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from communitykit.app import Runtime, create_app
from communitykit.settings import ServiceSettings

from .adapters.mongo import AnalyticsDb
from .config import Settings
from .entrypoints import consumers, dashboard, engagement
from .entrypoints.http import router
from .influence import http as influence_http
from .influence.job import InfluenceJob
from .listening.domain.changes import ALERTS
from .listening.http import router as listening_router
from .listening.projection import ensure_indexes as listening_indexes
from .projections.store import relax_gc


def make_runtime(settings: ServiceSettings) -> Runtime:
    # listening's alerts are published through the outbox (analytics.events)
    return Runtime(settings, outbox_collections=[ALERTS])


async def _on_start(runtime: Runtime) -> None:
    await AnalyticsDb(runtime.db).ensure_indexes()
    await listening_indexes(runtime.db)
    assert isinstance(runtime.settings, Settings)
    consumers.register(runtime, runtime.settings.consumer_group)
    job = InfluenceJob(
        runtime.db,
        interval_seconds=runtime.settings.influence_interval_seconds,
        lease_seconds=runtime.settings.influence_lease_seconds,
    )
    runtime.tasks.append(asyncio.create_task(job.run_forever(), name="influence"))
    relax_gc()


def build_app(settings: Settings) -> FastAPI:
    dashboard.check_assets()
    app = create_app(
        settings,
        title="Community analytics",
        routers=[
            router,
            engagement.router,
            influence_http.router,
            listening_router,
            dashboard.router,
        ],
        runtime_factory=make_runtime,
        on_start=[_on_start],
    )
    app.mount("/static", StaticFiles(directory=dashboard.STATIC), name="static")
    return app
