"""Reputation settings (``REPUTATION_*`` plus the shared variables)."""

from pydantic_settings import SettingsConfigDict

from communitykit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="REPUTATION_", extra="ignore", populate_by_name=True
    )

    service_name: str = "reputation"
    port: int = 8003
    mongodb_database: str = "reputation"
    #: consumer group on forum.events and ideas.events
    consumer_group: str = "reputation"
