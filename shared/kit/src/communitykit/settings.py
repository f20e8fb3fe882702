"""Settings base: the only reader of the environment. Defaults work on localhost."""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Shared variables keep their plain names; a subclass sets ``env_prefix`` (``FORUM_``)
    for its own fields (``FORUM_PORT``, ``FORUM_MONGODB_DATABASE``...)."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    #: the service's name: OpenTelemetry service.name, Kafka client id, log field
    service_name: str = "community"
    #: interface the HTTP server binds (the container image sets 0.0.0.0)
    host: str = "127.0.0.1"
    #: HTTP port (health, readiness, metrics and the API)
    port: int = 8000
    #: the service's own database (database per service)
    mongodb_database: str = "community"

    #: Kafka bootstrap servers, comma-separated host:port
    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092", validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS")
    )
    #: MongoDB connection string (credentials, replicaSet, TLS options go here)
    mongodb_url: str = Field(
        default="mongodb://127.0.0.1:27017", validation_alias=AliasChoices("MONGODB_URL")
    )
    #: HS256 key that verifies (and in development signs) the JWTs; the default is for
    #: development only: set a random secret of at least 32 bytes in every deployment
    jwt_secret: str = Field(
        default="dev-only-secret-change-me-32-bytes!",
        validation_alias=AliasChoices("COMMUNITY_JWT_SECRET"),
    )
    #: JWT signature algorithm
    jwt_algorithm: str = Field(
        default="HS256", validation_alias=AliasChoices("COMMUNITY_JWT_ALGORITHM")
    )
    #: log level of the JSON logs (DEBUG, INFO, WARNING, ERROR)
    log_level: str = Field(default="INFO", validation_alias=AliasChoices("LOG_LEVEL"))

    #: outbox relay: poll interval when idle (a local write wakes it at once)
    outbox_poll_seconds: float = 1.0
    #: consumer batch size
    consumer_max_records: int = 500
    #: seconds to wait before retrying a batch whose write failed
    consumer_retry_seconds: float = 1.0
