"""Media service: uploads, processing and memory, each against a same-run baseline.

    .venv/bin/python benchmarks/media_bench.py     # BENCH_MEDIA_MB (default 500), BENCH_MEDIA_N

* upload throughput: N x 8 MB files through ``POST /media`` (multipart, streamed to S3)
  vs raw S3 PUTs of the same bytes to the same server (aiobotocore) in the same run;
* processing a 12-megapixel JPEG (4000x3000): upload → ``ready`` with its three WebP
  renditions, p50/p95 over N uploads; baseline: Pillow alone decoding the same file;
* peak RSS of the service process while a BENCH_MEDIA_MB video-sized body streams in
  (generated on the fly, never held in memory, sent chunked), vs its idle RSS.

Servers come from tests/servers.py (environment, testcontainers or local processes).
"""

from __future__ import annotations

import asyncio
import io
import os
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from communitykit.auth import make_token  # noqa: E402
from tests.conftest import ServiceProcess, service_env  # noqa: E402
from tests.servers import resolve, resolve_s3  # noqa: E402

MB = 1024 * 1024
BIG_MB = int(os.environ.get("BENCH_MEDIA_MB", "500"))
N = int(os.environ.get("BENCH_MEDIA_N", "10"))
SECRET = "bench-secret-for-the-media-service-0123456789"
RUN = uuid.uuid4().hex[:6]


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def photo_12mp() -> bytes:
    im = Image.linear_gradient("L").resize((4000, 3000)).convert("RGB")
    noise = Image.effect_noise((4000, 3000), 40).convert("RGB")
    buf = io.BytesIO()
    Image.blend(im, noise, 0.3).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


async def main() -> None:
    servers, s3 = resolve(), resolve_s3()
    bucket = f"bench{RUN}-media"
    env = service_env(servers, "media", suffix=f"b{RUN}")
    env.update(
        COMMUNITY_JWT_SECRET=SECRET,
        MEDIA_S3_ENDPOINT_URL=s3.endpoint,
        MEDIA_S3_ACCESS_KEY=s3.access_key,
        MEDIA_S3_SECRET_KEY=s3.secret_key,
        MEDIA_S3_BUCKET=bucket,
        MEDIA_WORKER_GROUP=f"bench{RUN}-worker",
        MEDIA_MAX_VIDEO_BYTES=str((BIG_MB + 10) * MB),
        MEDIA_MAX_IMAGE_BYTES=str(40 * MB),
        LOG_LEVEL="WARNING",
    )
    svc = ServiceProcess("media", env).start(timeout=180)
    staff = {"Authorization": f"Bearer {make_token(SECRET, 'bench', roles=['staff'])}"}
    print(f"[media bench] S3 {s3.endpoint} ({s3.source}); service pid {svc.proc.pid}")  # type: ignore[union-attr]
    try:
        async with (
            httpx.AsyncClient(timeout=600) as http,
            get_session().create_client(
                "s3",
                endpoint_url=s3.endpoint,
                region_name=s3.region,
                aws_access_key_id=s3.access_key,
                aws_secret_access_key=s3.secret_key,
                config=AioConfig(signature_version="s3v4", s3={"addressing_style": "path"}),
            ) as raw,
        ):
            # -------------------------------------------------- 2. 12 MP processing
            photo = photo_12mp()
            t0 = time.perf_counter()
            for _ in range(3):
                with Image.open(io.BytesIO(photo)) as im:
                    im.load()
            decode_ms = (time.perf_counter() - t0) / 3 * 1000
            lat: list[float] = []
            # one more than measured: the first waits for the worker's consumer group to be
            # assigned its partitions (and loads Pillow's encoders); reported apart as "cold"
            for _ in range(N + 1):
                t0 = time.perf_counter()
                r = await http.post(
                    f"{svc.url}/media",
                    headers=staff,
                    files={"file": ("p.jpg", photo, "image/jpeg")},
                )
                mid = r.json()["media_id"]
                while True:
                    item = (await http.get(f"{svc.url}/media/{mid}", headers=staff)).json()
                    if item["state"] != "processing":
                        break
                    await asyncio.sleep(0.02)
                assert item["state"] == "ready", item
                lat.append((time.perf_counter() - t0) * 1000)
            cold, lat = lat[0], lat[1:]
            print(
                f"12 MP JPEG ({len(photo) / MB:.1f} MB) upload→ready with 3 renditions: "
                f"p50 {pct(lat, 50):.0f} ms  p95 {pct(lat, 95):.0f} ms  "
                f"(the cold first one {cold:.0f} ms)  "
                f"(baseline: Pillow full decode alone {decode_ms:.0f} ms)"
            )

            # -------------------------------------------------- 1. upload throughput
            blob = os.urandom(8 * MB)
            t0 = time.perf_counter()
            for i in range(N):
                await raw.put_object(Bucket=bucket, Key=f"raw/{i}", Body=blob)
            raw_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            for _ in range(N):
                r = await http.post(
                    f"{svc.url}/media", headers=staff, files={"file": ("b.bin", blob, "image/png")}
                )
                assert r.status_code == 202, r.text
            api_s = time.perf_counter() - t0
            total = N * 8
            print(
                f"upload {N} x 8 MB: POST /media {total / api_s:7.1f} MB/s   "
                f"raw S3 PUT {total / raw_s:7.1f} MB/s   ratio {raw_s / api_s:.2f}"
            )

            # -------------------------------------------------- 3. RSS while 500 MB streams in
            pid = svc.proc.pid  # type: ignore[union-attr]
            await asyncio.sleep(2)
            idle = rss_kb(pid)
            peak = [idle]
            stop = threading.Event()

            def sample() -> None:
                while not stop.is_set():
                    peak[0] = max(peak[0], rss_kb(pid))
                    time.sleep(0.05)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            boundary = "benchboundary"
            head = (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                f'filename="big.mp4"\r\nContent-Type: video/mp4\r\n\r\n'
            ).encode()
            # an MP4-looking start (ftyp box) so the kind is "video"; then generated bytes
            ftyp = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
            chunk = os.urandom(MB)

            async def body() -> AsyncIterator[bytes]:
                yield head + ftyp
                for _ in range(BIG_MB):
                    yield chunk
                yield f"\r\n--{boundary}--\r\n".encode()

            t0 = time.perf_counter()
            r = await http.post(
                f"{svc.url}/media",
                headers={**staff, "Content-Type": f"multipart/form-data; boundary={boundary}"},
                content=body(),
            )
            secs = time.perf_counter() - t0
            stop.set()
            sampler.join()
            assert r.status_code == 202, r.text
            grow = (peak[0] - idle) / 1024
            print(
                f"{BIG_MB} MB streamed in {secs:.1f} s ({BIG_MB / secs:.0f} MB/s): service RSS "
                f"idle {idle / 1024:.0f} MB, peak {peak[0] / 1024:.0f} MB, +{grow:.0f} MB "
                f"({'within' if grow <= 64 else 'OVER'} the 64 MB budget)"
            )
    finally:
        svc.stop()
        s3.stop()
        servers.stop()


if __name__ == "__main__":
    asyncio.run(main())
