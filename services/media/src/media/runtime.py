"""The media service's runtime: the kit's plus its object storage client."""

from __future__ import annotations

from communitykit.app import Runtime
from communitykit.settings import ServiceSettings

from .adapters.mongo import OUTBOX_COLLECTIONS
from .adapters.storage import S3Config, Storage
from .config import Settings


class MediaRuntime(Runtime):
    def __init__(self, settings: ServiceSettings) -> None:
        super().__init__(settings, outbox_collections=OUTBOX_COLLECTIONS)
        assert isinstance(settings, Settings)
        # created here, connected in the lifespan (bootstrap._on_start)
        self.storage = Storage(
            S3Config(
                endpoint_url=settings.s3_endpoint_url,
                region=settings.s3_region,
                access_key=settings.s3_access_key,
                secret_key=settings.s3_secret_key,
                bucket=settings.s3_bucket,
                part_size=settings.part_size,
            )
        )

    async def ready(self) -> dict[str, bool]:
        checks = await super().ready()
        checks["s3"] = self.storage._client is not None and await self.storage.ready()
        return checks
