"""Which Kafka and MongoDB a test run uses: decided here and nowhere else.

1. ``KAFKA_BOOTSTRAP_SERVERS`` and ``MONGODB_URL`` from the environment, if both are set;
2. otherwise testcontainers (``apache/kafka`` and ``mongo`` images) when a Docker engine
   answers;
3. otherwise the real local servers of deploy/local (Apache Kafka from Maven Central jars,
   FerretDB built from the Go module proxy): reused if ``make up`` already runs them,
   else started for this session and stopped at its end.

Object storage (the media service) follows the same order on its own (:func:`resolve_s3`):
``MEDIA_S3_ENDPOINT_URL`` (with ``MEDIA_S3_ACCESS_KEY``/``MEDIA_S3_SECRET_KEY``) if set;
otherwise a MinIO testcontainer when Docker answers; otherwise the local versitygw of
deploy/local (``make up``'s if it runs, else one started for this session on a free port).

The chaos suite (tests/chaos) kills and restarts the servers, so it never shares them:
:func:`private` gives it servers of its own, by the same order minus the environment and
``make up`` (fresh testcontainers with Docker; otherwise local processes on free ports in a
profile directory of their own, ``.run/chaos``), with :class:`Faults` to kill -9 and restart
them where this machine can (local processes; a container restart would go here too).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _localrun():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("localrun", ROOT / "deploy/local/localrun.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["localrun"] = mod
    spec.loader.exec_module(mod)
    return mod


localrun = _localrun()


@dataclass
class Faults:
    """kill -9 and restart of the servers of a private run (``kafka``, ``ferretdb``)."""

    kill: Callable[[str], None]
    restart: Callable[[str], None]


@dataclass
class Servers:
    kafka: str
    mongodb: str
    source: str
    stop: Callable[[], None] = field(default=lambda: None)
    #: kill -9 / restart support exists only for processes we run ourselves
    profile: object | None = None
    #: server faults (only for servers of our own: :func:`private`)
    faults: Faults | None = None


def docker_ok() -> bool:
    try:
        import docker

        docker.from_env().ping()
        return True
    except Exception:  # noqa: BLE001 - no daemon, no client, no permission: no Docker
        return False


def _from_testcontainers() -> Servers:
    from testcontainers.community.kafka import KafkaContainer
    from testcontainers.community.mongodb import MongoDbContainer

    kafka = KafkaContainer("apache/kafka:4.1.1").with_kraft()
    kafka.with_env("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "false")
    mongo = MongoDbContainer("mongo:8.0")
    kafka.start()
    mongo.start()

    def stop() -> None:
        kafka.stop()
        mongo.stop()

    return Servers(kafka.get_bootstrap_server(), mongo.get_connection_url(), "testcontainers", stop)


def _from_local() -> Servers:
    dev = localrun.Profile("dev")
    running = dev.running()
    if {"kafka", "ferretdb"} <= running.keys():
        return Servers(
            "127.0.0.1:9092", "mongodb://127.0.0.1:27017", "local (make up)", profile=dev
        )
    profile = localrun.Profile("test")
    started = set(profile.running())
    kafka = localrun.start_kafka(profile)
    mongo = localrun.start_ferretdb(profile)
    localrun.create_topics(kafka, profile.log("topics"))

    def stop() -> None:
        for name in ("ferretdb", "kafka"):
            if name not in started:
                profile.stop(name)

    return Servers(kafka, mongo, "local (started by tests)", stop, profile=profile)


def resolve() -> Servers:
    kafka, mongo = os.environ.get("KAFKA_BOOTSTRAP_SERVERS"), os.environ.get("MONGODB_URL")
    if kafka and mongo:
        return Servers(kafka, mongo, "environment")
    if docker_ok():
        return _from_testcontainers()
    return _from_local()


@dataclass
class S3Server:
    """An S3-compatible endpoint and its credentials (region us-east-1)."""

    endpoint: str
    access_key: str
    secret_key: str
    source: str
    stop: Callable[[], None] = field(default=lambda: None)
    region: str = "us-east-1"


MINIO_IMAGE = "minio/minio:RELEASE.2025-09-07T16-13-09Z"


def _s3_from_testcontainers() -> S3Server:
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.waiting_utils import wait_for_logs

    key, secret = "community-test", "community-test-secret"
    minio = (
        DockerContainer(MINIO_IMAGE)
        .with_env("MINIO_ROOT_USER", key)
        .with_env("MINIO_ROOT_PASSWORD", secret)
        .with_command("server /data --address :9000")
        .with_exposed_ports(9000)
    )
    minio.start()
    wait_for_logs(minio, "API:", timeout=60)
    url = f"http://{minio.get_container_host_ip()}:{minio.get_exposed_port(9000)}"
    return S3Server(url, key, secret, "testcontainers (MinIO)", minio.stop)


def _s3_from_local() -> S3Server:
    key, secret = localrun.S3_ACCESS_KEY, localrun.S3_SECRET_KEY
    dev = localrun.Profile("dev")
    if "s3" in dev.running():
        return S3Server("http://127.0.0.1:7070", key, secret, "local versitygw (make up)")
    profile = localrun.Profile("test")
    started = "s3" in profile.running()
    url = localrun.start_s3(profile, localrun.free_port())

    def stop() -> None:
        if not started:
            profile.stop("s3")

    return S3Server(url, key, secret, "local versitygw (started by tests)", stop)


def resolve_s3() -> S3Server:
    url = os.environ.get("MEDIA_S3_ENDPOINT_URL")
    if url:
        return S3Server(
            url,
            os.environ.get("MEDIA_S3_ACCESS_KEY", localrun.S3_ACCESS_KEY),
            os.environ.get("MEDIA_S3_SECRET_KEY", localrun.S3_SECRET_KEY),
            "environment",
        )
    if docker_ok():
        return _s3_from_testcontainers()
    return _s3_from_local()


def _private_local(name: str) -> Servers:
    """Kafka and FerretDB as local processes on free ports, in ``.run/<name>`` (wiped first:
    a private run starts from empty servers)."""
    profile = localrun.Profile(name)
    for running in profile.running():
        profile.stop(running)
    shutil.rmtree(profile.base, ignore_errors=True)
    kafka_port, controller_port, mongo_port = (localrun.free_port() for _ in range(3))

    def start(server: str) -> str:
        if server == "kafka":
            return str(localrun.start_kafka(profile, kafka_port, controller_port))
        return str(localrun.start_ferretdb(profile, mongo_port))

    def kill(server: str) -> None:
        pid = profile.running().get(server)
        if pid is not None:
            os.killpg(pid, signal.SIGKILL)
            while server in profile.running():
                time.sleep(0.05)

    def restart(server: str) -> None:
        start(server)

    kafka = start("kafka")
    mongo = start("ferretdb")
    localrun.create_topics(kafka, profile.log("topics"))

    def stop() -> None:
        for server in ("ferretdb", "kafka"):
            profile.stop(server)

    return Servers(
        kafka,
        mongo,
        f"private local servers ({profile.base})",
        stop,
        profile=profile,
        faults=Faults(kill=kill, restart=restart),
    )


@dataclass
class Smtp:
    """An SMTP server that keeps every message, and where a test reads them."""

    url: str
    #: the Maildir the server writes (None: messages are not readable by the tests)
    maildir: Path | None
    source: str
    stop: Callable[[], None] = field(default=lambda: None)

    def messages(self) -> list[Any]:
        """Every message received so far (``email.message.EmailMessage``), oldest first."""
        from email import policy
        from email.parser import BytesParser

        if self.maildir is None or not (self.maildir / "new").exists():
            return []
        parser = BytesParser(policy=policy.default)
        files = [p for sub in ("new", "cur") for p in (self.maildir / sub).iterdir()]
        # the Maildir layout: new/ and cur/ hold one message per file
        return [parser.parsebytes(p.read_bytes()) for p in sorted(files, key=_mtime)]


def _mtime(p: Path) -> tuple[float, str]:
    return (p.stat().st_mtime, p.name)


def smtp() -> Smtp:
    """1. ``NOTIFICATIONS_SMTP_URL`` (and ``NOTIFICATIONS_SMTP_MAILDIR``, where the tests read
    what it received) from the environment; 2. otherwise a local aiosmtpd process on a free
    port, keeping messages in a Maildir of this run (``.run/test-smtp-<port>``)."""
    url = os.environ.get("NOTIFICATIONS_SMTP_URL")
    if url:
        maildir = os.environ.get("NOTIFICATIONS_SMTP_MAILDIR")
        return Smtp(url, Path(maildir) if maildir else None, "environment")
    port = localrun.free_port()
    profile = localrun.Profile(f"test-smtp-{port}")
    url, maildir = localrun.start_smtp(profile, port)

    def stop() -> None:
        profile.stop("smtp")
        shutil.rmtree(profile.base, ignore_errors=True)

    return Smtp(url, maildir, f"local aiosmtpd on {port}", stop)


def private(name: str = "chaos") -> Servers:
    """Servers for this run alone, which it may kill and restart (never the shared ones)."""
    if docker_ok():
        return _from_testcontainers()
    return _private_local(name)
