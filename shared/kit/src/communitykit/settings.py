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
    #: longest accepted JWT lifetime in seconds (``exp`` - ``iat``, or ``exp`` - now for a
    #: token without ``iat``); every token must carry ``exp``
    jwt_max_ttl_seconds: int = Field(
        default=86400, gt=0, validation_alias=AliasChoices("COMMUNITY_JWT_MAX_TTL_SECONDS")
    )
    #: log level of the JSON logs (DEBUG, INFO, WARNING, ERROR)
    log_level: str = Field(default="INFO", validation_alias=AliasChoices("LOG_LEVEL"))

    #: writes (POST, PUT, PATCH, DELETE) a user may make per minute, sustained, on one
    #: replica (per process: N replicas allow up to N times this); over it: 429 with
    #: Retry-After. 0 turns the limit off
    write_rate_per_minute: float = Field(default=60, ge=0)
    #: writes a user may make at once after a quiet spell (the bucket size of that limit)
    write_burst: int = Field(default=20, ge=1)
    #: HTTP requests one process handles at once; one more is answered 503 with
    #: Retry-After at once (load shedding; health, readiness and metrics are exempt).
    #: 0 turns the limit off
    max_in_flight_requests: int = Field(default=100, ge=0)
    #: the Retry-After (seconds) of a request shed by that limit
    overload_retry_after_seconds: int = Field(default=1, ge=1)

    #: outbox relay: poll interval when idle (a local write wakes it at once)
    outbox_poll_seconds: float = 1.0
    #: consumer batch size
    consumer_max_records: int = 500
    #: seconds to wait before retrying a batch whose write failed
    consumer_retry_seconds: float = 1.0
