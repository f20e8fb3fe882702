"""The upload path's memory does not grow with the file: ``receive`` (python-multipart's push
parser, the S3 multipart writer, aiobotocore) streaming a body of 3 parts and one of 12 parts
to the real S3 server peaks at the same traced memory, within one part. Memory held per part
or per byte received (a list of sent parts' bodies, a buffer never trimmed, a client that
keeps what it sent) would add 9 parts to the second peak.

tracemalloc counts Python's own allocations (every bytes/bytearray of the path), so the
figure does not depend on what else runs on the machine; ``make bench`` measures the
service's RSS while 500 MB streams in (services/media/README.md)."""

from __future__ import annotations

import tracemalloc
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from starlette.requests import Request

from media.adapters.storage import S3Config, Storage
from media.domain.model import MediaKind
from media.upload import Limits, receive

from ...conftest import RUN_ID
from ...servers import S3Server

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

MiB = 1024 * 1024
PART = 5 * MiB  # S3's smallest part
BOUNDARY = b"memboundary"
# an MP4-looking start (ftyp box): sniffed as a video, so the video limit applies
FTYP = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"


@pytest_asyncio.fixture(loop_scope="session")
async def storage(s3: S3Server) -> AsyncIterator[Storage]:
    st = Storage(
        S3Config(
            endpoint_url=s3.endpoint,
            region=s3.region,
            access_key=s3.access_key,
            secret_key=s3.secret_key,
            bucket=f"t{RUN_ID}mm-media",
            part_size=PART,
        )
    )
    await st.start()
    try:
        yield st
    finally:
        await st.close()


def request_of(chunk: bytes, n: int) -> Request:
    """A ``POST /media`` whose body is the multipart framing around ``n`` x ``chunk``, sent
    as the server receives it (one ASGI message per chunk); the same chunk object each time,
    so the client side allocates nothing per byte."""
    head = (
        b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="file"; '
        b'filename="big.mp4"\r\nContent-Type: video/mp4\r\n\r\n' + FTYP
    )
    pieces = [head, *([chunk] * n), b"\r\n--" + BOUNDARY + b"--\r\n"]
    sent = iter(pieces)

    async def messages() -> dict[str, Any]:
        body = next(sent, None)
        if body is None:
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": body, "more_body": body is not pieces[-1]}

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/media",
        "headers": [(b"content-type", b"multipart/form-data; boundary=" + BOUNDARY)],
    }
    return Request(scope, messages)


async def peak_while_streaming(storage: Storage, chunk: bytes, parts: int) -> tuple[int, int]:
    """(traced peak above the start, bytes stored) for a file of ``parts`` parts."""
    n = parts * PART // len(chunk)

    async def any_kind(kind: MediaKind) -> None:
        assert kind == "video"

    limits = Limits(image_bytes=PART, video_bytes=(parts + 1) * PART, allow_video=True)
    request = request_of(chunk, n)
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        up = await receive(request, storage, limits, any_kind)
        peak = tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()
    assert up.stored is not None
    await storage.delete(up.key)
    return peak, up.stored.size


async def test_upload_memory_does_not_grow_with_the_file(storage: Storage) -> None:
    chunk = bytes(range(256)) * 4096  # 1 MiB, as an HTTP server hands a large body over
    # a first upload warms the client (connection pool, botocore's loaded models)
    await peak_while_streaming(storage, chunk, 2)
    small, small_size = await peak_while_streaming(storage, chunk, 3)
    large, large_size = await peak_while_streaming(storage, chunk, 12)
    assert (small_size, large_size) == (3 * PART + len(FTYP), 12 * PART + len(FTYP))
    print(f"\ntraced peak: 3 parts {small / MiB:.1f} MiB, 12 parts {large / MiB:.1f} MiB")
    assert large - small < PART, (
        f"9 more parts streamed added {(large - small) / MiB:.1f} MiB: memory is held per "
        "part or per byte received"
    )
    # about two parts (one filling, one in flight) and the copy between them
    assert large < 5 * PART, f"peak {large / MiB:.1f} MiB for {PART / MiB:.0f} MiB parts"
