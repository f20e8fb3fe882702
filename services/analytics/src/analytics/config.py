"""Analytics settings (``ANALYTICS_*`` plus the shared variables)."""

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from communitykit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="ANALYTICS_", extra="ignore", populate_by_name=True
    )

    service_name: str = "analytics"
    port: int = 8004
    mongodb_database: str = "analytics"
    #: consumer group on forum, ideas, reputation, gatherings and notifications events
    consumer_group: str = "analytics"
    #: the response SLA in seconds (SPEC 5, "responded within SLA"): the forum's escalation
    #: window, read from the forum's own variable so that both agree
    #: (ANALYTICS_ESCALATION_AFTER_SECONDS overrides it for analytics alone)
    escalation_after_seconds: int = Field(
        default=86400,
        gt=0,
        validation_alias=AliasChoices(
            "FORUM_ESCALATION_AFTER_SECONDS", "ANALYTICS_ESCALATION_AFTER_SECONDS"
        ),
    )
    #: records per consumer batch (ANALYTICS_CONSUMER_MAX_RECORDS): a batch writes each
    #: document it touches once, so a catch-up's cost per event falls as the batch grows
    #: (a user active all day is one write per batch, not one per event); live traffic
    #: gives small batches anyway. Measured: benchmarks/analytics_bench.py
    consumer_max_records: int = 2000
    #: the longest [from, to] window the API answers, in days
    max_window_days: int = 366
    #: seconds between two recomputes of the influence index (PageRank over who helped
    #: whom; one replica computes at a time, see analytics.influence.job)
    influence_interval_seconds: float = Field(default=300, gt=0)
    #: how long one replica may compute before another may take over (longer than a round)
    influence_lease_seconds: float = Field(default=600, gt=0)
