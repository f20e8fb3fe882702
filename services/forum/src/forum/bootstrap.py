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
from .handlers.escalation import escalation_loop
from .handlers.sync import TOKENS, sync_loop


def make_runtime(settings: ServiceSettings) -> Runtime:
    return Runtime(settings, outbox_collections=OUTBOX_COLLECTIONS)


async def _on_start(runtime: Runtime) -> None:
    db = ForumDb(runtime.db)
    await db.ensure_indexes()
    await db.migrate()
    settings = runtime.settings
    assert isinstance(settings, Settings)
    consumers.register(runtime, settings.consumer_group)
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
    # changes left pending by a writer that died are applied by whichever replica looks first
    runtime.tasks.append(
        asyncio.create_task(
            sync_loop(db, settings.sync_grace_seconds, settings.sync_check_seconds),
            name="sync-check",
        )
    )


async def _on_stop(runtime: Runtime) -> None:
    # the tokens whose removal is in flight (handlers/sync.py); any left would be harmless
    try:
        await asyncio.wait_for(TOKENS.drain(), timeout=5)
    except TimeoutError:
        pass


def build_app(settings: Settings) -> FastAPI:
    return create_app(
        settings,
        title="Community forum",
        routers=routers,
        runtime_factory=make_runtime,
        on_start=[_on_start],
        on_stop=[_on_stop],
    )
