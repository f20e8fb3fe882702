"""Media settings (``MEDIA_*`` plus the shared variables)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from communitykit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="MEDIA_", extra="ignore", populate_by_name=True)

    service_name: str = "media"
    port: int = 8007
    mongodb_database: str = "media"
    #: consumer group of reputation.events (trust levels → quotas) and forum.events (posts
    #: that show media → attachments)
    consumer_group: str = "media"
    #: consumer group of the processing worker (media.events)
    worker_group: str = "media-worker"
    #: run the processing worker in this process (a deployment may run it apart)
    worker_enabled: bool = True
    #: uploads one worker batch takes at once (each may take seconds: keep it well under
    #: max.poll.interval.ms)
    worker_batch: int = Field(default=4, ge=1)
    #: test hook: seconds the worker waits before its state transition (kill -9 tests)
    worker_pause_seconds: float = Field(default=0, ge=0)

    # --- object storage (S3 API: versitygw, MinIO, AWS S3...) ---
    #: the S3 endpoint (``make up``: the local versitygw)
    s3_endpoint_url: str = "http://127.0.0.1:7070"
    #: the S3 region (versitygw accepts only us-east-1)
    s3_region: str = "us-east-1"
    #: S3 access key (the default is the local versitygw's development key)
    s3_access_key: str = "community-dev"
    #: S3 secret key (development default: set the real one from a Secret)
    s3_secret_key: str = "community-dev-secret"
    #: the bucket holding originals and renditions
    s3_bucket: str = "community-media"
    #: create the bucket at start when it is missing (off where an operator owns buckets)
    s3_create_bucket: bool = True
    #: serve renditions as a 307 to a presigned GET instead of streaming them through
    presigned_redirect: bool = False
    #: lifetime of those presigned URLs
    presigned_ttl_seconds: int = Field(default=300, ge=1)

    # --- limits ---
    #: largest image upload (bytes)
    max_image_bytes: int = Field(default=25 * 1024 * 1024, ge=1)
    #: largest video upload (bytes); also the largest request body
    max_video_bytes: int = Field(default=600 * 1024 * 1024, ge=1)
    #: largest image in pixels (width x height); more is rejected before decoding
    max_image_pixels: int = Field(default=50_000_000, ge=1)
    #: longest video
    max_video_seconds: float = Field(default=300, gt=0)
    #: largest video frame side (pixels)
    max_video_side: int = Field(default=4096, ge=1)
    #: S3 multipart part size (S3's minimum is 5 MiB for every part but the last)
    part_size: int = Field(default=8 * 1024 * 1024, ge=5 * 1024 * 1024)

    # --- lifecycle ---
    #: an item in no gallery this long after its upload is deleted (48 h)
    orphan_after_seconds: float = Field(default=48 * 3600, gt=0)
    #: how often each replica looks for orphans and abandoned multipart uploads
    sweep_seconds: float = Field(default=600, gt=0)
    #: a multipart upload older than this was abandoned by a crashed process: aborted
    stale_upload_seconds: float = Field(default=3600, gt=0)
