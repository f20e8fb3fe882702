"""The processing worker: ``MediaUploaded`` → ``ready`` (MediaProcessed) or ``rejected``
(MediaRejected), never in the request.

Idempotent and crash-safe: renditions go to keys derived from the media id (a rerun writes
the same objects again), and the state change is ONE guarded update (``processing`` →
``ready``/``rejected``, communitykit.repository). A worker killed mid-way leaves the offset
uncommitted; the record comes back after the restart, and the item moves once. A redelivery
of an item already settled does nothing but make sure its original is gone.

Bad bytes never crash the worker: every decoding failure is a :class:`Reject` with a reason
(the original is deleted, nothing partial stays). Failures of the servers (S3, MongoDB)
raise instead, so the batch is retried rather than an author's upload rejected.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from pathlib import Path

from .adapters.repository import Repos
from .adapters.storage import ObjectMissingError, Storage
from .config import Settings
from .domain.errors import Settled
from .domain.model import Processed, Rendition
from .processing import Reject, Result, images, kind_of, sniff, video

log = logging.getLogger(__name__)


def rendition_key(media_id: str, name: str) -> str:
    return f"renditions/{media_id}/{name}"


class Worker:
    def __init__(self, repos: Repos, storage: Storage, settings: Settings) -> None:
        self.repos = repos
        self.storage = storage
        self.settings = settings

    async def handle(self, media_id: str) -> None:
        """Process one upload (MediaUploaded) unless it is already settled."""
        found = await self.repos.media.find(media_id)
        if found is None:
            return
        item = found[0]
        if item.state != "processing":
            await self.storage.delete(item.original_key)  # a crash may have left it
            return
        with tempfile.TemporaryDirectory(prefix="media-") as tmp:
            work = Path(tmp)
            src = work / "original"
            limit = max(self.settings.max_image_bytes, self.settings.max_video_bytes)
            try:
                await self.storage.download(item.original_key, src, limit)
            except ObjectMissingError:
                await self._reject(media_id, item.original_key, "the upload's bytes are missing")
                return
            try:
                result = await self._process(src, work)
            except Reject as r:
                await self._reject(media_id, item.original_key, r.reason)
                return
            renditions: dict[str, Rendition] = {}
            for o in result.outputs:
                key = rendition_key(media_id, o.name)
                stored = await self.storage.put_file(key, o.path, o.content_type)
                renditions[o.name] = Rendition(
                    key=key, size=stored.size, content_type=o.content_type, etag=stored.etag,
                    width=o.width,
                )  # fmt: skip
        if self.settings.worker_pause_seconds:
            await asyncio.sleep(self.settings.worker_pause_seconds)  # test hook (kill -9)
        processed = Processed(
            kind=result.kind,
            content_type=result.content_type,
            width=result.width,
            height=result.height,
            duration_seconds=result.duration_seconds,
            renditions=renditions,
        )
        try:
            await self.repos.media.change(media_id, lambda m: m.processed(processed))
        except Settled:
            return  # another worker settled it first: its renditions are these very objects
        # the original (with its EXIF/GPS) is never served: only the renditions are kept
        await self.storage.delete(item.original_key)
        log.info("media %s ready (%s, %d renditions)", media_id, result.kind, len(renditions))

    async def _process(self, src: Path, work: Path) -> Result:
        s = self.settings
        mime = sniff(src)
        kind = kind_of(mime)  # Reject: not an allowed type
        if kind == "image":
            return await asyncio.to_thread(images.process, src, work, mime, s.max_image_pixels)
        return await video.process(
            src, work, mime, max_seconds=s.max_video_seconds, max_side=s.max_video_side
        )

    async def _reject(self, media_id: str, original: str, reason: str) -> None:
        # bytes first: a crash after this redoes the (harmless) rejection on redelivery
        await self.storage.delete(original)
        try:
            await self.repos.media.change(media_id, lambda m: m.rejected(reason))
        except Settled:
            return
        log.info("media %s rejected: %s", media_id, reason)
