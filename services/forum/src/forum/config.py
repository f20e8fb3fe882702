"""Forum settings (``FORUM_*`` plus the shared variables)."""

from pydantic_settings import SettingsConfigDict

from communitykit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="FORUM_", extra="ignore", populate_by_name=True)

    service_name: str = "forum"
    port: int = 8001
    mongodb_database: str = "forum"
    #: an unanswered question is escalated after this many seconds (SPEC 3)
    escalation_after_seconds: float = 86400
    #: how often each replica looks for questions to escalate
    escalation_check_seconds: float = 30
    #: consumer group on reputation.events (trust levels)
    consumer_group: str = "forum"
    #: consumer group of the forum's own forum.events → the thread read models
    #: (projections/threads.py; rebuilt with ``make rebuild SERVICE=forum``)
    threads_consumer_group: str = "forum-threads"
    #: consumer group on media.events → ``media_refs`` (the media ids a post may carry)
    media_consumer_group: str = "forum-media"
