"""All wiring of the ideas service; nothing connects at import time."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from communitykit.app import Runtime, create_app
from communitykit.settings import ServiceSettings

from . import jobs
from .adapters.mongo import OUTBOX_COLLECTIONS, IdeasDb
from .adapters.repository import ideas_repository
from .config import Settings
from .entrypoints.http import routers


def make_runtime(settings: ServiceSettings) -> Runtime:
    # no per-document lock: every write is one atomic single-document update
    return Runtime(settings, outbox_collections=OUTBOX_COLLECTIONS)


async def _on_start(runtime: Runtime) -> None:
    db = IdeasDb(runtime.db)
    await db.ensure_indexes()
    settings = runtime.settings
    assert isinstance(settings, Settings)
    ideas = ideas_repository(db)

    async def resume() -> None:
        if await jobs.resume_stale_merges(db, ideas, settings.merge_resume_after_seconds):
            runtime.notify_outbox()

    async def expire() -> None:
        await jobs.expire_trending(db, ideas)

    # every replica runs both; the guarded updates make them safe to run concurrently
    runtime.tasks += [
        asyncio.create_task(
            jobs.every(settings.merge_check_seconds, resume, "merge resume"),
            name="merge-resume",
        ),
        asyncio.create_task(
            jobs.every(settings.trending_refresh_seconds, expire, "trending expiry"),
            name="trending-expiry",
        ),
    ]


def build_app(settings: Settings) -> FastAPI:
    return create_app(
        settings,
        title="Community ideas",
        routers=routers,
        runtime_factory=make_runtime,
        on_start=[_on_start],
    )
