"""Which Kafka and MongoDB a test run uses: decided here and nowhere else.

1. ``KAFKA_BOOTSTRAP_SERVERS`` and ``MONGODB_URL`` from the environment, if both are set;
2. otherwise testcontainers (``apache/kafka`` and ``mongo`` images) when a Docker engine
   answers;
3. otherwise the real local servers of deploy/local (Apache Kafka from Maven Central jars,
   FerretDB built from the Go module proxy): reused if ``make up`` already runs them,
   else started for this session and stopped at its end.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

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
class Servers:
    kafka: str
    mongodb: str
    source: str
    stop: Callable[[], None] = field(default=lambda: None)
    #: kill -9 / restart support exists only for processes we run ourselves
    profile: object | None = None


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
