"""Ideas settings (``IDEAS_*`` plus the shared variables)."""

from pydantic_settings import SettingsConfigDict

from communitykit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="IDEAS_", extra="ignore", populate_by_name=True)

    service_name: str = "ideas"
    port: int = 8002
    mongodb_database: str = "ideas"
    #: how often each replica drops vote-day buckets older than the trending window
    trending_refresh_seconds: float = 300
    #: how often each replica looks for merges interrupted by a crash
    merge_check_seconds: float = 30
    #: a merge still in progress after this many seconds is resumed by the background check
    merge_resume_after_seconds: float = 60
