"""Settings base: the only reader of the environment. Defaults work on localhost."""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Shared variables keep their plain names; a subclass sets ``env_prefix`` (``FORUM_``)
    for its own fields (``FORUM_PORT``, ``FORUM_MONGODB_DATABASE``...)."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    service_name: str = "community"
    host: str = "127.0.0.1"
    port: int = 8000
    mongodb_database: str = "community"

    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092", validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS")
    )
    mongodb_url: str = Field(
        default="mongodb://127.0.0.1:27017", validation_alias=AliasChoices("MONGODB_URL")
    )
    jwt_secret: str = Field(
        default="dev-only-secret-change-me-32-bytes!",
        validation_alias=AliasChoices("COMMUNITY_JWT_SECRET"),
    )
    jwt_algorithm: str = Field(
        default="HS256", validation_alias=AliasChoices("COMMUNITY_JWT_ALGORITHM")
    )
    log_level: str = Field(default="INFO", validation_alias=AliasChoices("LOG_LEVEL"))

    #: outbox relay: poll interval when idle (a local write wakes it at once)
    outbox_poll_seconds: float = 1.0
    #: consumer batch size
    consumer_max_records: int = 500
    #: seconds to wait before retrying a batch whose write failed
    consumer_retry_seconds: float = 1.0
