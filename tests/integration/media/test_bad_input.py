"""Issue 24 item 7: every bad input ends as a clear 4xx or a ``rejected`` state with a
reason; never a 500, never a partial object, never a crash of the worker."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
import pytest_asyncio

from ...conftest import ServiceProcess, auth, token
from ...servers import Servers
from . import files
from .conftest import Bucket, Recorder, ready_upload, set_level, settled, uid, upload

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def rejected(
    http: httpx.AsyncClient, media: ServiceProcess, bucket: Bucket, recorder: Recorder,
    user: str, data: bytes, name: str, ctype: str,
) -> str:  # fmt: skip
    r = await upload(http, media.url, user, data, name, ctype)
    assert r.status_code == 202, r.text
    mid = r.json()["media_id"]
    item = await settled(http, media.url, mid, user)
    assert item["state"] == "rejected", item
    assert item["renditions"] == {}
    (e,) = await recorder.wait(mid, "MediaRejected")
    assert e.data.reason == item["reason"]
    # nothing of it stays in storage, and nothing is ever served
    assert await bucket.keys(f"originals/{mid}") == []
    assert await bucket.keys(f"renditions/{mid}/") == []
    assert (await http.get(f"{media.url}/media/{mid}/w320", headers=auth(user))).status_code == 404
    assert (await http.get(f"{media.url}/media/{mid}")).status_code == 404
    return str(item["reason"])


@pytest_asyncio.fixture(loop_scope="session")
async def member(servers: Servers, media_db: Any) -> str:
    user = uid("member")
    await set_level(servers, media_db, user, 2)
    return user


async def test_a_png_named_jpg_is_taken_for_what_it_is(
    media: ServiceProcess, http: httpx.AsyncClient, member: str
) -> None:
    item = await ready_upload(
        http, media.url, member, files.png(), filename="holiday.jpg", content_type="image/jpeg"
    )
    assert item["content_type"] == "image/png", "sniffed from the bytes, not the name"


async def test_a_jpeg_named_mp4_is_an_image(
    media: ServiceProcess, http: httpx.AsyncClient, member: str
) -> None:
    item = await ready_upload(
        http, media.url, member, files.jpeg(400, 300), filename="clip.mp4",
        content_type="video/mp4",
    )  # fmt: skip
    assert (item["kind"], item["content_type"]) == ("image", "image/jpeg")


@pytest.mark.parametrize(
    ("data", "name", "fragment"),
    [
        (files.elf(), "cat.png", "application/x-"),
        (files.HTML, "cat.png", "text/html"),
        (files.SVG, "logo.svg", "image/svg+xml"),
        (b"just some text\n" * 50, "notes.jpg", "text/plain"),
    ],
    ids=["executable", "html", "svg-with-script", "text"],
)
async def test_refused_types(
    media: ServiceProcess,
    http: httpx.AsyncClient,
    bucket: Bucket,
    recorder: Recorder,
    member: str,
    data: bytes,
    name: str,
    fragment: str,
) -> None:
    reason = await rejected(http, media, bucket, recorder, member, data, name, "image/png")
    assert "is not allowed" in reason and fragment in reason


async def test_a_decompression_bomb_is_refused_from_its_header(
    media: ServiceProcess, http: httpx.AsyncClient, bucket: Bucket, recorder: Recorder, member: str
) -> None:
    reason = await rejected(
        http, media, bucket, recorder, member, files.png_bomb(30_000), "big.png", "image/png"
    )
    assert "30000x30000" in reason and "limit" in reason
    # the worker lives on: the next upload is processed
    await ready_upload(http, media.url, member, files.png(), filename="after.png")


async def test_a_truncated_image(
    media: ServiceProcess, http: httpx.AsyncClient, bucket: Bucket, recorder: Recorder, member: str
) -> None:
    data = files.jpeg(1200, 900)
    reason = await rejected(
        http, media, bucket, recorder, member, data[: len(data) // 2], "half.jpg", "image/jpeg"
    )
    assert "damaged or incomplete" in reason


@pytest.mark.skipif(not files.has_ffmpeg(), reason="ffmpeg missing: `make media-tools`")
async def test_a_truncated_video(
    media: ServiceProcess,
    http: httpx.AsyncClient,
    bucket: Bucket,
    recorder: Recorder,
    member: str,
    tmp_path: Path,
) -> None:
    data = files.video(tmp_path, seconds=2)
    reason = await rejected(
        http, media, bucket, recorder, member, data[:3000], "half.mp4", "video/mp4"
    )
    assert "video" in reason


@pytest.mark.skipif(not files.has_ffmpeg(), reason="ffmpeg missing: `make media-tools`")
async def test_a_video_over_the_duration_limit(
    media: ServiceProcess,
    http: httpx.AsyncClient,
    bucket: Bucket,
    recorder: Recorder,
    member: str,
    tmp_path: Path,
) -> None:
    data = files.video(tmp_path, seconds=10, size="160x90")  # the suite's limit: 8 s
    reason = await rejected(http, media, bucket, recorder, member, data, "long.mp4", "video/mp4")
    assert "lasts 10.0 s" in reason and "limit is 8 s" in reason


async def test_a_zero_byte_file(
    media: ServiceProcess, http: httpx.AsyncClient, bucket: Bucket, member: str
) -> None:
    before = await bucket.keys("originals/")
    r = await upload(http, media.url, member, b"", "empty.png", "image/png")
    assert r.status_code == 422 and r.json()["field"] == "file"
    assert "empty" in r.json()["detail"]
    assert await bucket.keys("originals/") == before


@pytest.mark.parametrize(
    "name", ["../../etc/passwd.png", "..\\..\\boot.ini.png", "/etc/passwd", "dir/evil.png", ".."]
)
async def test_path_traversal_file_names(
    media: ServiceProcess, http: httpx.AsyncClient, bucket: Bucket, member: str, name: str
) -> None:
    before = await bucket.keys("originals/")
    r = await upload(http, media.url, member, files.png(), name, "image/png")
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "file" and "file name" in r.json()["detail"]
    assert await bucket.keys("originals/") == before
    assert await bucket.uploads() == []


def _raw(url: str, head: bytes, body: bytes, *, close_after: bool) -> bytes:
    """Send a request by hand (a client that lies or stops half-way); the answer, if any."""
    u = urlparse(url)
    with socket.create_connection((u.hostname, u.port), timeout=30) as s:
        s.sendall(head + body)
        if close_after:
            s.shutdown(socket.SHUT_WR)
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
        except (ConnectionResetError, TimeoutError):
            pass
        return out


def _multipart(boundary: str, data: bytes, name: str = "big.png") -> tuple[bytes, bytes]:
    start = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()
    return start + data, f"\r\n--{boundary}--\r\n".encode()


async def test_an_upload_that_stops_half_way(
    media: ServiceProcess, http: httpx.AsyncClient, bucket: Bucket, member: str
) -> None:
    boundary = "b0undary"
    # 12 MB announced, 5.5 MB sent (more than one S3 part), then the client hangs up
    start, _ = _multipart(boundary, files.png() + b"\x00" * (5 * 1024 * 1024 + 500_000))
    head = (
        f"POST /media HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token(member)}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {6 * 1024 * 1024 - 1}\r\n\r\n"
    ).encode()
    before = await bucket.keys("originals/")
    await asyncio.to_thread(_raw, media.url, head, start, close_after=True)

    async def aborted() -> bool:
        return await bucket.uploads() == []

    from ...conftest import eventually

    await eventually(aborted, timeout=30)
    assert await bucket.keys("originals/") == before
    # and the service is fine
    assert (await http.get(f"{media.url}/healthz")).status_code == 200


async def test_content_length_over_the_limit_is_refused_before_the_body(
    media: ServiceProcess, member: str, bucket: Bucket
) -> None:
    head = (
        f"POST /media HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token(member)}\r\n"
        "Content-Type: multipart/form-data; boundary=x\r\n"
        f"Content-Length: {10 * 1024**3}\r\nConnection: close\r\n\r\n"
    ).encode()
    # no body at all: the answer must come from the headers alone
    answer = await asyncio.to_thread(_raw, media.url, head, b"", close_after=False)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"application/problem+json" in answer
    assert await bucket.uploads() == []


async def test_a_stream_past_the_limit_is_cut_and_aborted(
    media: ServiceProcess, http: httpx.AsyncClient, bucket: Bucket, member: str
) -> None:
    """No Content-Length (chunked): the limit (6 MB for images here) is found while
    streaming; the multipart upload already holds a part and is aborted."""
    boundary = "cutcut"
    start, end = _multipart(boundary, files.png() + b"\x00" * (9 * 1024 * 1024))

    async def body() -> Any:
        data = start + end
        for i in range(0, len(data), 256 * 1024):
            yield data[i : i + 256 * 1024]

    before = await bucket.keys("originals/")
    r = await http.post(
        f"{media.url}/media",
        headers={
            **auth(member),
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
        content=body(),
    )
    assert r.status_code == 413, r.text
    assert "cut" in r.json()["detail"] and r.json()["field"] == "file"
    assert await bucket.uploads() == []
    assert await bucket.keys("originals/") == before


async def test_malformed_requests(
    media: ServiceProcess, http: httpx.AsyncClient, member: str
) -> None:
    r = await http.post(f"{media.url}/media", headers=auth(member), json={"file": "x"})
    assert r.status_code == 415 and r.json()["field"] == "Content-Type"
    r = await http.post(
        f"{media.url}/media", headers=auth(member), data={"alt_text": "no file"}, files={}
    )
    assert r.status_code in (415, 422)
    r = await http.post(
        f"{media.url}/media",
        headers=auth(member),
        files={"other": ("a.png", files.png(), "image/png")},
        data={"alt_text": "x"},
    )
    assert r.status_code == 422 and r.json()["field"] == "file"
