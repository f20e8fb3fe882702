"""All wiring of the forum service; nothing connects at import time."""

from __future__ import annotations

from fastapi import FastAPI

from communitykit.app import Runtime, create_app
from communitykit.settings import ServiceSettings

from .adapters.mongo import OUTBOX_COLLECTIONS, ForumDb
from .config import Settings
from .entrypoints.http import router


def make_runtime(settings: ServiceSettings) -> Runtime:
    return Runtime(settings, outbox_collections=OUTBOX_COLLECTIONS)


async def _on_start(runtime: Runtime) -> None:
    await ForumDb(runtime.db).ensure_indexes()


def build_app(settings: Settings) -> FastAPI:
    return create_app(
        settings,
        title="Community forum",
        routers=[router],
        runtime_factory=make_runtime,
        on_start=[_on_start],
    )
