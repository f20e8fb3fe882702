"""initContainer of every service pod: wait until all topics of SPEC 2.2 exist.

The topics are created by the `kafka-topics` Job with explicit partition counts and the
cluster's replication factor. A service also creates missing topics at start-up (with
replication factor 1), so letting it start before the Job has run could leave production
with under-replicated topics; this wait makes the Job's settings win.

Runs with the service image's own Python (aiokafka and the `schemas` package are installed).
Environment: KAFKA_BOOTSTRAP_SERVERS, WAIT_SECONDS (default 600; then exit 1 and let the
kubelet retry the pod).
"""

import asyncio
import os
import sys
import time

from aiokafka.admin import AIOKafkaAdminClient

from schemas.topics import ALL_TOPICS


async def missing_topics(bootstrap: str) -> list[str]:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, client_id="wait-for-topics", request_timeout_ms=10000
    )
    await admin.start()
    try:
        return sorted(set(ALL_TOPICS) - set(await admin.list_topics()))
    finally:
        await admin.close()


async def main() -> int:
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    deadline = time.monotonic() + float(os.environ.get("WAIT_SECONDS", "600"))
    while True:
        try:
            missing = await asyncio.wait_for(missing_topics(bootstrap), 30)
            if not missing:
                print(f"all {len(ALL_TOPICS)} topics present on {bootstrap}", flush=True)
                return 0
            print(f"waiting for topics {missing} (created by the kafka-topics Job)", flush=True)
        except Exception as exc:  # noqa: BLE001 - any failure means "not yet"
            print(f"waiting for Kafka at {bootstrap}: {exc!r}", flush=True)
        if time.monotonic() >= deadline:
            print("gave up waiting for the topics", file=sys.stderr, flush=True)
            return 1
        await asyncio.sleep(5)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
