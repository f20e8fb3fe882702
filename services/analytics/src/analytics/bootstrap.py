"""All wiring of the analytics service; nothing connects at import time."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from communitykit.app import Runtime, create_app
from communitykit.settings import ServiceSettings

from .adapters.mongo import AnalyticsDb
from .config import Settings
from .entrypoints import consumers, dashboard, engagement
from .entrypoints.http import router
from .projections.store import relax_gc


def make_runtime(settings: ServiceSettings) -> Runtime:
    return Runtime(settings)


async def _on_start(runtime: Runtime) -> None:
    await AnalyticsDb(runtime.db).ensure_indexes()
    assert isinstance(runtime.settings, Settings)
    consumers.register(runtime, runtime.settings.consumer_group)
    relax_gc()


def build_app(settings: Settings) -> FastAPI:
    dashboard.check_assets()
    app = create_app(
        settings,
        title="Community analytics",
        routers=[router, engagement.router, dashboard.router],
        runtime_factory=make_runtime,
        on_start=[_on_start],
    )
    app.mount("/static", StaticFiles(directory=dashboard.STATIC), name="static")
    return app
