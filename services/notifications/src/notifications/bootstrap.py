"""All wiring of the notifications service; nothing connects at import time."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from communitykit.app import Runtime, create_app
from communitykit.settings import ServiceSettings

from .adapters.email import Mailer
from .adapters.mongo import OUTBOX_COLLECTIONS, NotificationsDb
from .config import Settings
from .entrypoints import consumers
from .entrypoints.http import routers
from .sender import Sender


def make_runtime(settings: ServiceSettings) -> Runtime:
    return Runtime(settings, outbox_collections=OUTBOX_COLLECTIONS)


async def _on_start(runtime: Runtime) -> None:
    settings = runtime.settings
    assert isinstance(settings, Settings)
    db = NotificationsDb(runtime.db)
    await db.ensure_indexes()
    sender = Sender(
        db,
        Mailer(
            settings.smtp_url,
            settings.mail_from,
            settings.public_url,
            settings.app_url,
            settings.jwt_secret,
        ),
        email_domain=settings.email_domain,
        lease_seconds=settings.send_lease_seconds,
        poll_seconds=settings.send_poll_seconds,
    )
    consumers.register(runtime, settings, sender.notify)
    if settings.sender_enabled:
        # every replica runs one: the atomic claims make them safe to run concurrently
        runtime.tasks.append(asyncio.create_task(sender.run(), name="email-sender"))


def build_app(settings: Settings) -> FastAPI:
    return create_app(
        settings,
        title="Community notifications",
        routers=routers,
        runtime_factory=make_runtime,
        on_start=[_on_start],
    )
