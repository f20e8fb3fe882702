"""Notifications settings (``NOTIFICATIONS_*`` plus the shared variables)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from communitykit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="NOTIFICATIONS_", extra="ignore", populate_by_name=True
    )

    service_name: str = "notifications"
    port: int = 8008
    mongodb_database: str = "notifications"
    #: consumer group on every other topic (and notifications.events for reads)
    consumer_group: str = "notifications"
    #: the SMTP relay: smtp://[user:password@]host:port (smtps:// for implicit TLS;
    #: ?starttls=1 to upgrade); `make up` runs a local aiosmtpd on 1025
    smtp_url: str = "smtp://127.0.0.1:1025"
    #: the From address of every email
    mail_from: str = "Community <notifications@community.local>"
    #: the public base URL of this service (unsubscribe links point here)
    public_url: str = "http://127.0.0.1:8008"
    #: the web app's base URL (links to threads, ideas...)
    app_url: str = "http://127.0.0.1:8000"
    #: members who set no address get <id>@<this domain> (empty: no email for them)
    email_domain: str = ""
    #: staff told about TrendDetected alerts (comma-separated user ids)
    staff_ids: str = ""
    #: how often the sender looks for emails and digests to send (a local decision wakes it)
    send_poll_seconds: float = Field(default=1.0, gt=0)
    #: a send claimed by a replica that died is retried after this many seconds
    send_lease_seconds: float = Field(default=60.0, gt=0)
    #: a digest period's length in seconds instead of the member's day or week (tests, demo)
    digest_period_seconds: float | None = Field(default=None, gt=0)
    #: a digest is due this long after its period ends (lets the decisions of the period's
    #: last events, still in flight, join it)
    digest_grace_seconds: float = Field(default=60.0, ge=0)
    #: turn the sender off (a replica that only consumes and serves)
    sender_enabled: bool = True
