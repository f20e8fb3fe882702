"""All wiring of the search service; nothing connects (or opens the index) at import time."""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI

from communitykit.app import Runtime, create_app
from communitykit.kafka import kafka_ready
from communitykit.settings import ServiceSettings

from .adapters.index import SearchIndex
from .config import Settings
from .entrypoints import consumers
from .entrypoints.http import router
from .projection import IndexProjection
from .service import SearchService

log = logging.getLogger(__name__)


class SearchRuntime(Runtime):
    """The kit's runtime plus the on-disk index, its one writer and the read side."""

    def __init__(self, settings: ServiceSettings) -> None:
        assert isinstance(settings, Settings)
        super().__init__(settings)
        self.index = SearchIndex(
            settings.index_path,
            heap_bytes=settings.writer_heap_bytes,
            threads=settings.writer_threads,
        )
        self.projection = IndexProjection(self.index)
        self.search = SearchService(self.index)

    async def ready(self) -> dict[str, bool]:
        """Kafka reachable and the index readable (search keeps no MongoDB database)."""
        kafka = await kafka_ready(self.settings.kafka_bootstrap_servers)
        try:
            await asyncio.to_thread(self.index.meta)
            index = True
        except Exception:  # any failure means "not ready"
            log.warning("index unreadable", exc_info=True)
            index = False
        return {"kafka": kafka, "index": index}


def make_runtime(settings: ServiceSettings) -> Runtime:
    return SearchRuntime(settings)


async def _on_start(runtime: Runtime) -> None:
    assert isinstance(runtime, SearchRuntime)
    consumers.register(runtime, runtime.projection)


def build_app(settings: Settings) -> FastAPI:
    return create_app(
        settings,
        title="Community search",
        routers=[router],
        runtime_factory=make_runtime,
        on_start=[_on_start],
    )
