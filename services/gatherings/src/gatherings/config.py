"""Gatherings settings (``GATHERINGS_*`` plus the shared variables)."""

from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from communitykit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="GATHERINGS_", extra="ignore", populate_by_name=True
    )

    service_name: str = "gatherings"
    port: int = 8006
    mongodb_database: str = "gatherings"
    #: consumer group on reputation.events (levels) and forum.events (group owners)
    consumer_group: str = "gatherings"
    #: reminders before each start, in seconds (comma-separated in the environment)
    reminder_offsets_seconds: Annotated[list[int], NoDecode] = Field(
        default_factory=lambda: [86400, 3600]
    )
    #: how often each replica looks for due reminders and giveaways to close
    sweep_seconds: float = Field(default=15, gt=0)
    #: check-in opens this long before the start
    check_in_opens_seconds: int = Field(default=900, ge=0)
    #: RSVPs of one gathering that one replica folds into one write (group commit)
    rsvp_batch_max: int = Field(default=200, ge=1)

    @field_validator("reminder_offsets_seconds", mode="before")
    @classmethod
    def _split(cls, v: object) -> object:
        if isinstance(v, str):
            return [int(p) for p in v.replace(" ", "").split(",") if p]
        if isinstance(v, int):
            return [v]
        return v
