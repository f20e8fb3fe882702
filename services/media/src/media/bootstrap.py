"""All wiring of the media service; nothing connects at import time."""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI

from communitykit.app import Runtime, create_app
from communitykit.settings import ServiceSettings
from communitykit.telemetry import untraced

from . import handlers
from .adapters.mongo import MediaDb
from .adapters.repository import Repos
from .config import Settings
from .entrypoints import consumers
from .entrypoints.http import router as media_router
from .entrypoints.http_galleries import router as gallery_router
from .runtime import MediaRuntime

log = logging.getLogger(__name__)


def make_runtime(settings: ServiceSettings) -> Runtime:
    return MediaRuntime(settings)


async def _sweep_loop(runtime: MediaRuntime, settings: Settings) -> None:
    repos = Repos(MediaDb(runtime.db))
    unnamed: set[str] = set()  # originals no item named at the last pass
    while True:
        await asyncio.sleep(settings.sweep_seconds)
        try:
            with untraced():
                if await handlers.sweep(repos, runtime.storage, settings, unnamed):
                    runtime.notify_outbox()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning(
                "orphan sweep failed; next pass in %ss", settings.sweep_seconds, exc_info=True
            )


async def _on_start(runtime: Runtime) -> None:
    assert isinstance(runtime, MediaRuntime)
    settings = runtime.settings
    assert isinstance(settings, Settings)
    await MediaDb(runtime.db).ensure_indexes()
    await runtime.storage.start(create_bucket=settings.s3_create_bucket)
    consumers.register_levels(runtime, settings)
    if settings.worker_enabled:
        consumers.register_worker(runtime, settings)
    # every replica sweeps; deletes are idempotent and the state change is guarded
    runtime.tasks.append(asyncio.create_task(_sweep_loop(runtime, settings), name="orphan-sweep"))


async def _on_stop(runtime: Runtime) -> None:
    assert isinstance(runtime, MediaRuntime)
    await runtime.storage.close()


def build_app(settings: Settings) -> FastAPI:
    return create_app(
        settings,
        title="Community media",
        routers=[media_router, gallery_router],
        runtime_factory=make_runtime,
        on_start=[_on_start],
        on_stop=[_on_stop],
    )
