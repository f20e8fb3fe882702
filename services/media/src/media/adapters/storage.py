"""Object storage over the S3 API (aiobotocore): versitygw locally, MinIO in compose, any
S3-compatible service in production. The bytes of every upload and rendition live here;
MongoDB holds only their keys.

Uploads are streamed as S3 multipart uploads (parts of ``part_size`` bytes as they arrive),
so memory stays at about one part whatever the file's size; a failed or cut upload is
aborted, which leaves no object behind.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import ClientError

log = logging.getLogger(__name__)

#: bytes read from an object's body per chunk when streaming it out
CHUNK = 256 * 1024


@dataclass(frozen=True)
class S3Config:
    endpoint_url: str
    region: str
    access_key: str
    secret_key: str
    bucket: str
    part_size: int = 8 * 1024 * 1024


@dataclass(frozen=True)
class Stored:
    key: str
    size: int
    etag: str


@dataclass
class Fetched:
    """An object's body (or a range of it) being read."""

    body: Any
    length: int
    total: int
    etag: str
    content_type: str

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self.body.iter_chunks(CHUNK):
                yield chunk
        finally:
            self.body.close()


class ObjectMissingError(Exception):
    pass


class Storage:
    def __init__(self, config: S3Config) -> None:
        self.config = config
        self.bucket = config.bucket
        self._stack = AsyncExitStack()
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            raise RuntimeError("storage not started")
        return self._client

    async def start(self, create_bucket: bool = True) -> None:
        session = get_session()
        c = self.config
        self._client = await self._stack.enter_async_context(
            session.create_client(
                "s3",
                endpoint_url=c.endpoint_url,
                region_name=c.region,
                aws_access_key_id=c.access_key,
                aws_secret_access_key=c.secret_key,
                # SigV4 (presigned URLs need it) and path-style addressing (local servers)
                config=AioConfig(
                    signature_version="s3v4",
                    s3={"addressing_style": "path"},
                    retries={"max_attempts": 3, "mode": "standard"},
                    connect_timeout=5,
                    read_timeout=60,
                ),
            )
        )
        if create_bucket:
            await self.ensure_bucket()

    async def close(self) -> None:
        await self._stack.aclose()
        self._client = None

    async def ensure_bucket(self) -> None:
        try:
            await self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            try:
                await self.client.create_bucket(Bucket=self.bucket)
            except ClientError as e:  # a replica created it first
                if _code(e) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise

    async def ready(self) -> bool:
        try:
            await self.client.head_bucket(Bucket=self.bucket)
            return True
        except Exception:  # noqa: BLE001 - any failure means not ready
            return False

    # ------------------------------------------------------------------ uploads
    def multipart(self, key: str, content_type: str) -> MultipartUpload:
        return MultipartUpload(self, key, content_type)

    async def put_bytes(self, key: str, data: bytes, content_type: str) -> Stored:
        r = await self.client.put_object(
            Bucket=self.bucket, Key=key, Body=data, ContentType=content_type
        )
        return Stored(key, len(data), _etag(r))

    async def put_file(self, key: str, path: Path, content_type: str) -> Stored:
        """Upload a local file, in parts when it is larger than one part."""
        size = (await asyncio.to_thread(path.stat)).st_size
        if size <= self.config.part_size:
            return await self.put_bytes(key, await asyncio.to_thread(path.read_bytes), content_type)
        up = self.multipart(key, content_type)
        fh = await asyncio.to_thread(path.open, "rb")
        try:
            while chunk := await asyncio.to_thread(fh.read, self.config.part_size):
                await up.write(chunk)
            return await up.complete()
        except BaseException:
            await up.abort()
            raise
        finally:
            fh.close()

    # ------------------------------------------------------------------ reads
    async def download(self, key: str, path: Path, limit: int) -> int:
        """Stream an object to a local file (never whole in memory); at most ``limit`` bytes."""
        try:
            r = await self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as e:
            if _code(e) in ("NoSuchKey", "404"):
                raise ObjectMissingError(key) from e
            raise
        n = 0
        body = r["Body"]
        try:
            with path.open("wb") as fh:
                async for chunk in body.iter_chunks(CHUNK):
                    n += len(chunk)
                    if n > limit:
                        raise ValueError(f"object {key} is larger than {limit} bytes")
                    fh.write(chunk)
        finally:
            body.close()
        return n

    async def read_head(self, key: str, n: int) -> bytes:
        r = await self.client.get_object(Bucket=self.bucket, Key=key, Range=f"bytes=0-{n - 1}")
        async with r["Body"] as body:
            return bytes(await body.read())

    async def get(self, key: str, byte_range: tuple[int, int] | None = None) -> Fetched:
        """The object, or bytes ``start``..``end`` (inclusive) of it."""
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if byte_range is not None:
            kwargs["Range"] = f"bytes={byte_range[0]}-{byte_range[1]}"
        try:
            r = await self.client.get_object(**kwargs)
        except ClientError as e:
            if _code(e) in ("NoSuchKey", "404"):
                raise ObjectMissingError(key) from e
            raise
        length = int(r["ContentLength"])
        total = length
        if "ContentRange" in r:  # "bytes 0-99/1234"
            total = int(str(r["ContentRange"]).rsplit("/", 1)[1])
        return Fetched(r["Body"], length, total, _etag(r), str(r.get("ContentType", "")))

    async def exists(self, key: str) -> bool:
        try:
            await self.client.head_object(Bucket=self.bucket, Key=key)
            return True
        except ClientError as e:
            if _code(e) in ("NoSuchKey", "404", "NotFound"):
                return False
            raise

    async def presign(self, key: str, ttl: int) -> str:
        return str(
            await self.client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=ttl
            )
        )

    # ------------------------------------------------------------------ clean-up
    async def delete(self, *keys: str) -> None:
        for key in keys:  # deleting a missing key succeeds: safe to repeat
            await self.client.delete_object(Bucket=self.bucket, Key=key)

    async def _objects(self, prefix: str) -> AsyncIterator[dict[str, Any]]:
        """Every object under ``prefix`` (its listing entry), page after page."""
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
            if token:
                kwargs["ContinuationToken"] = token
            r = await self.client.list_objects_v2(**kwargs)
            for o in r.get("Contents", []):
                yield o
            if not r.get("IsTruncated"):
                return
            token = r.get("NextContinuationToken")

    async def keys(self, prefix: str) -> list[str]:
        return [o["Key"] async for o in self._objects(prefix)]

    async def stale_keys(self, prefix: str, older_than: float) -> list[str]:
        """The keys under ``prefix`` last written more than ``older_than`` seconds ago."""
        cutoff = datetime.now(UTC) - timedelta(seconds=older_than)
        return [
            o["Key"]
            async for o in self._objects(prefix)
            if isinstance(o.get("LastModified"), datetime) and o["LastModified"] < cutoff
        ]

    async def abort_stale_uploads(self, older_than: float) -> int:
        """Abort multipart uploads left by a process that died mid-upload."""
        cutoff = datetime.now(UTC) - timedelta(seconds=older_than)
        r = await self.client.list_multipart_uploads(Bucket=self.bucket)
        n = 0
        for u in r.get("Uploads", []):
            initiated = u.get("Initiated")
            if isinstance(initiated, datetime) and initiated < cutoff:
                await self.client.abort_multipart_upload(
                    Bucket=self.bucket, Key=u["Key"], UploadId=u["UploadId"]
                )
                n += 1
        return n

    async def open_uploads(self, prefix: str = "") -> list[str]:
        r = await self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=prefix)
        return [u["Key"] for u in r.get("Uploads", [])]


class MultipartUpload:
    """One S3 multipart upload fed chunk by chunk. A full part is sent while the next one is
    being received (one part in flight at most), so the request body and the S3 upload
    overlap; memory holds about two parts whatever the file's size."""

    def __init__(self, storage: Storage, key: str, content_type: str) -> None:
        self.storage = storage
        self.key = key
        self.content_type = content_type
        self.size = 0
        self._buf = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._in_flight: asyncio.Task[None] | None = None

    async def write(self, data: bytes) -> None:
        self._buf += data
        self.size += len(data)
        part = self.storage.config.part_size
        # strictly more than a part: a file of exactly one part goes as one plain PUT
        while len(self._buf) > part:
            chunk = bytes(memoryview(self._buf)[:part])
            del self._buf[:part]
            await self._settle()  # the previous part is acknowledged (parts stay in order)
            self._in_flight = asyncio.create_task(self._send(chunk))

    async def _settle(self) -> None:
        if self._in_flight is not None:
            task, self._in_flight = self._in_flight, None
            await task

    async def _send(self, chunk: bytes) -> None:
        c = self.storage.client
        if self._upload_id is None:
            r = await c.create_multipart_upload(
                Bucket=self.storage.bucket, Key=self.key, ContentType=self.content_type
            )
            self._upload_id = r["UploadId"]
        n = len(self._parts) + 1
        r = await c.upload_part(
            Bucket=self.storage.bucket,
            Key=self.key,
            UploadId=self._upload_id,
            PartNumber=n,
            Body=chunk,
        )
        self._parts.append({"PartNumber": n, "ETag": r["ETag"]})

    async def complete(self) -> Stored:
        await self._settle()
        if self._upload_id is None:
            # everything fit in one part: a plain PUT (one request instead of three)
            return await self.storage.put_bytes(self.key, bytes(self._buf), self.content_type)
        if self._buf:
            await self._send(bytes(self._buf))
            self._buf.clear()
        r = await self.storage.client.complete_multipart_upload(
            Bucket=self.storage.bucket,
            Key=self.key,
            UploadId=self._upload_id,
            MultipartUpload={"Parts": self._parts},
        )
        return Stored(self.key, self.size, _etag(r))

    async def abort(self) -> None:
        """Drop the parts sent so far (idempotent; the object never existed)."""
        self._buf.clear()
        if self._in_flight is not None:  # let the part in flight end: its id is needed
            task, self._in_flight = self._in_flight, None
            try:
                await task
            except Exception:  # noqa: BLE001 - the upload is being dropped anyway
                pass
        if self._upload_id is None:
            return
        upload_id, self._upload_id = self._upload_id, None
        try:
            await self.storage.client.abort_multipart_upload(
                Bucket=self.storage.bucket, Key=self.key, UploadId=upload_id
            )
        except Exception:
            log.warning("could not abort multipart upload of %s", self.key, exc_info=True)


def _code(e: ClientError) -> str:
    return str(e.response.get("Error", {}).get("Code", ""))


def _etag(r: dict[str, Any]) -> str:
    return str(r.get("ETag", "")).strip('"')
