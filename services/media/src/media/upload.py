"""``POST /media``: a multipart/form-data body streamed into object storage.

The body is parsed as it arrives (python-multipart's push parser) and the ``file`` part is
written to an S3 multipart upload part by part: memory holds about one part whatever the
file's size. Limits are enforced at three points:

1. before reading anything: ``Content-Length`` over the caller's limit is a 413, and a
   member whose quota is spent gets a 429;
2. at the first bytes: the kind (image or video) is sniffed from them (never from the name
   or header); a video from a member whose level allows none, or over that kind's quota, is
   refused and the upload aborted;
3. while streaming: a body that passes the limit is cut (413) and its multipart upload
   aborted, so no partial object is ever left behind. So is a body that ends before its
   closing boundary (the client stopped half-way): 400.

The worker decides what the bytes really are (processing/): this module only stores them.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from .adapters.storage import MultipartUpload, Storage, Stored
from .domain.errors import (
    BadUploadError,
    PayloadTooLargeError,
    UnsupportedUploadError,
)
from .domain.model import MediaKind

#: bytes sniffed at the start of the file to tell an image from a video
HEAD = 4096
#: room for the multipart framing and the small fields around the file
OVERHEAD = 64 * 1024
MAX_FIELD = 2000
MAX_FILENAME = 255
_BAD_NAME = re.compile(r"[/\\\x00-\x1f\x7f]")


#: where an upload's bytes wait for processing (deleted once the item is processed)
ORIGINALS = "originals/"


def original_key(media_id: str) -> str:
    return ORIGINALS + media_id


def new_media_id() -> str:
    return uuid.uuid4().hex


def check_filename(name: str) -> str:
    """A plain base name, or 422: a path (``../../etc/passwd``), control characters or an
    empty name are refused outright rather than silently rewritten."""
    name = unicodedata.normalize("NFC", name).strip()
    if not name:
        raise BadUploadError("the file part needs a file name", field="file")
    if len(name) > MAX_FILENAME:
        raise BadUploadError(f"file name longer than {MAX_FILENAME} characters", field="file")
    if _BAD_NAME.search(name) or name in (".", "..") or name.startswith(".."):
        raise BadUploadError(
            "file name must be a plain name without path separators or control characters",
            field="file",
        )
    return name


def sniff_kind(head: bytes) -> MediaKind:
    """Image or video, from the first bytes (for limits and quotas only)."""
    import magic  # loads libmagic: imported on use, so the image builds without it

    mime = magic.from_buffer(head, mime=True)
    return "video" if mime.startswith("video/") else "image"


@dataclass
class Limits:
    image_bytes: int
    video_bytes: int
    allow_video: bool

    @property
    def body(self) -> int:
        return (self.video_bytes if self.allow_video else self.image_bytes) + OVERHEAD

    def of(self, kind: MediaKind) -> int:
        return self.video_bytes if kind == "video" else self.image_bytes


@dataclass
class Upload:
    """What was received and stored."""

    media_id: str
    key: str
    filename: str = ""
    declared_type: str = "application/octet-stream"
    alt_text: str = ""
    kind: MediaKind = "image"
    stored: Stored | None = None


@dataclass
class _Part:
    name: str = ""
    filename: str | None = None
    content_type: str = ""
    headers: dict[str, bytes] = field(default_factory=dict)
    text: bytearray = field(default_factory=bytearray)


def check_length(request: Request, limits: Limits) -> None:
    """413 from the declared length alone, before one byte of the body is read."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            n = int(declared)
        except ValueError:
            raise BadUploadError("Content-Length is not a number", field="Content-Length") from None
        if n > limits.body:
            raise PayloadTooLargeError(
                f"the body is {n} bytes; the largest upload you may make is "
                f"{limits.body - OVERHEAD} bytes",
                field="file",
                limit=limits.body - OVERHEAD,
            )


def boundary_of(request: Request) -> bytes:
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or not params.get(b"boundary"):
        raise UnsupportedUploadError(
            "send the file as multipart/form-data (field `file`, optional `alt_text`)",
            field="Content-Type",
        )
    return params[b"boundary"]


async def receive(
    request: Request,
    storage: Storage,
    limits: Limits,
    on_kind: Callable[[MediaKind], Awaitable[None]],
) -> Upload:
    """Stream the body into storage; returns the stored upload (or raises, having aborted).

    ``on_kind(kind)`` is awaited once the first bytes tell the kind: it raises to refuse
    (quota, level)."""
    boundary = boundary_of(request)
    media_id = new_media_id()
    up = Upload(media_id=media_id, key=original_key(media_id))
    events: list[tuple[str, object]] = []
    current = _Part()

    def on_part_begin() -> None:
        events.append(("begin", None))

    def on_header_field(data: bytes, start: int, end: int) -> None:
        events.append(("hfield", data[start:end]))

    def on_header_value(data: bytes, start: int, end: int) -> None:
        events.append(("hvalue", data[start:end]))

    def on_headers_finished() -> None:
        events.append(("headers", None))

    def on_part_data(data: bytes, start: int, end: int) -> None:
        events.append(("data", data[start:end]))

    def on_part_end() -> None:
        events.append(("end", None))

    def on_end() -> None:
        events.append(("done", None))

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
            "on_end": on_end,
        },  # type: ignore[arg-type]
    )
    writer: MultipartUpload | None = None
    head = bytearray()
    kind_known = False
    limit = limits.body
    finished = False
    hname = b""
    try:
        async for chunk in request.stream():
            if not chunk:
                continue
            try:
                parser.write(chunk)
            except Exception as e:
                raise BadUploadError(f"malformed multipart body: {e}", field="body") from e
            for kind, value in events:
                if kind == "begin":
                    current = _Part()
                elif kind == "hfield":
                    hname += value  # type: ignore[operator]
                elif kind == "hvalue":
                    key = hname.decode("latin-1").lower()
                    current.headers[key] = current.headers.get(key, b"") + value  # type: ignore[operator]
                    hname = b""
                elif kind == "headers":
                    hname = b""
                    _, params = parse_options_header(
                        current.headers.get("content-disposition", b"")
                    )
                    current.name = params.get(b"name", b"").decode("utf-8", "replace")
                    fn = params.get(b"filename")
                    current.filename = None if fn is None else fn.decode("utf-8", "replace")
                    current.content_type = current.headers.get(
                        "content-type", b"application/octet-stream"
                    ).decode("latin-1")[:100]
                    if current.name == "file":
                        if writer is not None:
                            raise BadUploadError("send one `file` part per upload", field="file")
                        up.filename = check_filename(current.filename or "")
                        up.declared_type = current.content_type
                        writer = storage.multipart(up.key, "application/octet-stream")
                elif kind == "data":
                    data: bytes = value  # type: ignore[assignment]
                    if current.name == "file" and writer is not None:
                        if not kind_known:
                            head += data[: HEAD - len(head)]
                            if len(head) >= HEAD:
                                up.kind = sniff_kind(bytes(head))
                                kind_known = True
                                await on_kind(up.kind)
                                limit = limits.of(up.kind)
                        if writer.size + len(data) > limit:
                            raise PayloadTooLargeError(
                                f"the file passed the {limit}-byte limit; the upload was cut",
                                field="file",
                                limit=limit,
                            )
                        await writer.write(data)
                    elif current.name == "alt_text":
                        if len(current.text) + len(data) > MAX_FIELD:
                            raise BadUploadError(
                                f"alt_text longer than {MAX_FIELD} bytes", field="alt_text"
                            )
                        current.text += data
                elif kind == "end":
                    if current.name == "alt_text":
                        up.alt_text = current.text.decode("utf-8", "replace").strip()
                elif kind == "done":
                    finished = True
            events.clear()
        if not finished:
            raise BadUploadError(
                "the body ended before its closing boundary: the upload stopped half-way",
                field="file",
            )
        if writer is None:
            raise BadUploadError("the `file` part is missing", field="file")
        if writer.size == 0:
            raise BadUploadError("the file is empty (0 bytes)", field="file")
        if not kind_known:
            up.kind = sniff_kind(bytes(head))
            await on_kind(up.kind)
            if writer.size > limits.of(up.kind):
                raise PayloadTooLargeError(
                    f"the file is larger than {limits.of(up.kind)} bytes", field="file"
                )
        up.stored = await writer.complete()
        return up
    except ClientDisconnect:
        if writer is not None:
            await writer.abort()
        raise BadUploadError("the client went away before the upload ended", field="file") from None
    except BaseException:
        if writer is not None:
            await writer.abort()
        raise
