"""Search settings (``SEARCH_*`` plus the shared variables)."""

from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from communitykit.settings import ServiceSettings
from schemas import topics


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SEARCH_", extra="ignore", populate_by_name=True)

    service_name: str = "search"
    port: int = 8005
    #: unused by the index (it lives on disk), kept for the shared readiness check
    mongodb_database: str = "search"
    #: consumer group: ONE PER REPLICA (each replica keeps a full index of its own; see README)
    consumer_group: str = "search"
    #: the topics indexed, comma-separated (the benchmark points it at a topic of its own)
    source_topics: str = f"{topics.FORUM_EVENTS},{topics.IDEAS_EVENTS}"
    #: directory of the on-disk tantivy index (created if missing); the default is where
    #: `make up` puts it, so that `make rebuild SERVICE=search` finds it
    index_path: str = ".run/dev/search-index"
    #: where an index with no position for a partition starts reading it: ``earliest`` in
    #: production (a new index indexes the whole history); tests use ``latest``. The start is
    #: recorded in the index (its *origin*) so that a rebuild replays exactly the same range.
    start_from: Literal["earliest", "latest"] = "earliest"
    #: index writer memory budget, in bytes: tantivy's least (15 MB per writer thread).
    #: Measured at 100,000 posts (benchmarks/search.py, peak RSS while catching up): 64 MB
    #: and batches of 10,000 peaked at 467 MB; the heap only sets how often the writer
    #: flushes a segment, the commit per batch flushes anyway
    writer_heap_bytes: int = 16_000_000
    #: index writer threads
    writer_threads: int = 1
    #: /readyz stays 503 until the index is this close to the end of the topics (once)
    ready_max_lag: int = 1000
    #: consumer batch size: one index commit per batch (~0.2 s of fsyncs), so catch-up
    #: wants large batches, but a batch's records, events, states and documents are all in
    #: memory at once. Sized from the peak RSS of a 100,000-post catch-up
    #: (benchmarks/search.py, VmHWM; the idle service is ~88 MB): 2,000 → 182-234 MB,
    #: 1,000 → 162 MB, 500 → 141 MB (with the mmap threshold below); issue 28: ≤ 150 MB
    consumer_max_records: int = 500
    #: share of answered queries published as SearchPerformed on search.events (listening's
    #: search gaps; best effort, see adapters/query_log.py)
    query_sample_rate: float = Field(default=1.0, gt=0, le=1)
    #: glibc malloc arenas (the writer, its merge threads and the worker thread each get
    #: their own, and freed memory stays in them): 2 keeps the peak RSS down
    malloc_arena_max: int = 2
    #: glibc's mmap threshold, in bytes (0: glibc's default, which grows up to 32 MB): an
    #: allocation this large gets a mapping of its own, unmapped when freed, instead of
    #: staying in the heap (tantivy's segment buffers and merges, a batch's large strings).
    #: Set with mallopt at start, like the arenas, so every deployment gets it
    malloc_mmap_threshold: int = 131072
    #: hand the pages a batch freed back to the system after its commit (glibc malloc_trim)
    malloc_trim: bool = True

    @property
    def topic_list(self) -> list[str]:
        return [t.strip() for t in self.source_topics.split(",") if t.strip()]
