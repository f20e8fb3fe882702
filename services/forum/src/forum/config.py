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
    #: a change whose effect on another document (a reply on its thread's counters, a vote
    #: on its post's score) is still pending after this long was left by a writer that died;
    #: every replica's sync loop applies it (exactly once: handlers/sync.py)
    sync_grace_seconds: float = 30
    #: how often each replica looks for such changes
    sync_check_seconds: float = 10
    #: consumer group on reputation.events (trust levels)
    consumer_group: str = "forum"
