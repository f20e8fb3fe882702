"""All wiring of the gatherings service; nothing connects at import time."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from communitykit.app import Runtime, create_app
from communitykit.settings import ServiceSettings

from .adapters.mongo import OUTBOX_COLLECTIONS, GatheringsDb
from .adapters.stores import Stores
from .config import Settings
from .entrypoints import consumers
from .entrypoints.http import routers
from .handlers.sweeper import sweep_loop


def make_runtime(settings: ServiceSettings) -> Runtime:
    # no application lock: every write is one version-guarded single-document update
    return Runtime(settings, outbox_collections=OUTBOX_COLLECTIONS)


async def _on_start(runtime: Runtime) -> None:
    db = GatheringsDb(runtime.db)
    await db.ensure_indexes()
    settings = runtime.settings
    assert isinstance(settings, Settings)
    consumers.register(runtime, settings.consumer_group)
    # every replica sweeps; the guarded update of each claim makes a reminder go out once
    runtime.tasks.append(
        asyncio.create_task(
            sweep_loop(Stores(db, settings), settings.sweep_seconds, runtime.notify_outbox),
            name="gatherings-sweep",
        )
    )


def build_app(settings: Settings) -> FastAPI:
    return create_app(
        settings,
        title="Community gatherings",
        routers=routers,
        runtime_factory=make_runtime,
        on_start=[_on_start],
    )
