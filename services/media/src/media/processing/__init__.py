"""What the worker does to an upload's bytes: sniff, check, render (no Mongo, no Kafka)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..domain.model import MediaKind

IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}
VIDEO_TYPES = {"video/mp4", "video/webm", "video/quicktime"}
#: libmagic's other names for the same containers
ALIASES = {"video/x-m4v": "video/mp4", "audio/mp4": "video/mp4", "video/x-matroska": "video/webm"}


class Reject(Exception):
    """The bytes are not acceptable; ``reason`` is shown to the author."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Output:
    """One rendition written to a local file."""

    name: str
    path: Path
    content_type: str
    width: int | None = None


@dataclass(frozen=True)
class Result:
    kind: MediaKind
    content_type: str
    width: int
    height: int
    duration_seconds: float | None
    outputs: list[Output]


def sniff(path: Path) -> str:
    """The type told by the bytes (libmagic), never by the name or the header."""
    import magic  # loads libmagic: imported on use, so the image builds without it

    with path.open("rb") as fh:
        head = fh.read(64 * 1024)
    mime = magic.from_buffer(head, mime=True)
    return ALIASES.get(mime, mime)


def kind_of(mime: str) -> MediaKind:
    if mime in IMAGE_TYPES:
        return "image"
    if mime in VIDEO_TYPES:
        return "video"
    raise Reject(
        f"type {mime} is not allowed (allowed: JPEG, PNG, GIF, WebP images; MP4, WebM, MOV videos)"
    )
