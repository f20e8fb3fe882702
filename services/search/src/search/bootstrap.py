"""All wiring of the search service; nothing connects (or opens the index) at import time."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging

from fastapi import FastAPI

from communitykit.app import Runtime, create_app
from communitykit.consumer import BatchConsumer
from communitykit.kafka import kafka_ready
from communitykit.settings import ServiceSettings

from .adapters.index import SearchIndex
from .config import Settings
from .entrypoints import consumers
from .entrypoints.http import router
from .projection import IndexProjection
from .service import SearchService

log = logging.getLogger(__name__)


#: mallopt's parameter numbers (glibc malloc.h)
M_ARENA_MAX = -8
M_MMAP_THRESHOLD = -3


def tune_malloc(arenas: int, mmap_threshold: int) -> bool:
    """Before the index's threads start: cap glibc's malloc arenas (each thread otherwise
    gets an arena of its own, and memory freed there is not returned) and serve every
    allocation of ``mmap_threshold`` bytes or more with its own mapping, unmapped as soon as
    it is freed (tantivy's segment buffers, merges and a batch's large strings; glibc would
    otherwise raise the threshold up to 32 MB and keep such blocks in the heap). Both lower
    the peak RSS of a catch-up (see config). A no-op where the C library is not glibc."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        ok = True
        if arenas > 0:
            ok = bool(libc.mallopt(M_ARENA_MAX, arenas)) and ok
        if mmap_threshold > 0:
            ok = bool(libc.mallopt(M_MMAP_THRESHOLD, mmap_threshold)) and ok
        return ok
    except (OSError, AttributeError):
        return False


class SearchRuntime(Runtime):
    """The kit's runtime plus the on-disk index, its one writer and the read side."""

    def __init__(self, settings: ServiceSettings) -> None:
        assert isinstance(settings, Settings)
        tune_malloc(settings.malloc_arena_max, settings.malloc_mmap_threshold)
        super().__init__(settings)
        self.index = SearchIndex(
            settings.index_path,
            heap_bytes=settings.writer_heap_bytes,
            threads=settings.writer_threads,
        )
        self.projection = IndexProjection(self.index)
        self.search = SearchService(self.index)
        self.consumer: BatchConsumer | None = None
        self._caught_up = False

    async def ready(self) -> dict[str, bool]:
        """Kafka reachable, the index readable and caught up (search keeps no MongoDB
        database). A new replica with an empty index is not ready until it has indexed the
        topics up to ``SEARCH_READY_MAX_LAG`` records: it would answer with holes."""
        kafka = await kafka_ready(self.settings.kafka_bootstrap_servers)
        try:
            await asyncio.to_thread(self.index.meta)
            index = True
        except Exception:  # any failure means "not ready"
            log.warning("index unreadable", exc_info=True)
            index = False
        if not self._caught_up:
            lag = self.lag()
            assert isinstance(self.settings, Settings)
            self._caught_up = lag is not None and lag <= self.settings.ready_max_lag
        return {"kafka": kafka, "index": index, "caught_up": self._caught_up}

    def lag(self) -> int | None:
        """Records between the index's position and the end of every assigned partition
        (None while that is not known yet)."""
        kafka = getattr(getattr(self.consumer, "subscriber", None), "consumer", None)
        if kafka is None or not kafka.assignment():
            return None
        total = 0
        for tp in kafka.assignment():
            end = kafka.highwater(tp)
            pos = self.projection.position(tp.topic, tp.partition)
            if end is None or pos is None:
                return None
            total += max(0, end - pos)
        return total


def make_runtime(settings: ServiceSettings) -> Runtime:
    return SearchRuntime(settings)


async def _on_start(runtime: Runtime) -> None:
    assert isinstance(runtime, SearchRuntime)
    runtime.consumer = consumers.register(runtime, runtime.projection)


def build_app(settings: Settings) -> FastAPI:
    return create_app(
        settings,
        title="Community search",
        routers=[router],
        runtime_factory=make_runtime,
        on_start=[_on_start],
    )
