"""All wiring of the forum service; nothing connects at import time."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from communitykit.app import Runtime, create_app
from communitykit.settings import ServiceSettings

from .adapters.mongo import OUTBOX_COLLECTIONS, ForumDb
from .config import Settings
from .entrypoints import consumers
from .entrypoints.http import routers
from .jobs.escalation import escalation_loop


def make_runtime(settings: ServiceSettings) -> Runtime:
    return Runtime(settings, outbox_collections=OUTBOX_COLLECTIONS)


async def _on_start(runtime: Runtime) -> None:
    db = ForumDb(runtime.db)
    await db.ensure_indexes()
    await db.migrate()
    settings = runtime.settings
    assert isinstance(settings, Settings)
    consumers.register(runtime, settings.consumer_group)
    consumers.register_threads(runtime, settings.threads_consumer_group)
    consumers.register_media(runtime, settings.media_consumer_group)
    # every replica runs the check; the conditional update makes it escalate once
    runtime.tasks.append(
        asyncio.create_task(
            escalation_loop(
                db,
                settings.escalation_after_seconds,
                settings.escalation_check_seconds,
                runtime.notify_outbox,
            ),
            name="escalation-check",
        )
    )


def build_app(settings: Settings) -> FastAPI:
    return create_app(
        settings,
        title="Community forum",
        routers=routers,
        runtime_factory=make_runtime,
        on_start=[_on_start],
    )
