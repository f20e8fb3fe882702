"""Search settings (``SEARCH_*`` plus the shared variables)."""

from typing import Literal

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
    #: index writer memory budget, in bytes (within the container's memory limit)
    writer_heap_bytes: int = 64_000_000
    #: index writer threads
    writer_threads: int = 1
    #: /readyz stays 503 until the index is this close to the end of the topics (once)
    ready_max_lag: int = 1000
    #: consumer batch size: one index commit per batch, so catch-up wants large batches
    consumer_max_records: int = 10000

    @property
    def topic_list(self) -> list[str]:
        return [t.strip() for t in self.source_topics.split(",") if t.strip()]
