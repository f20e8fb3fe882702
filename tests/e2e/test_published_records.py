"""Every record the system published during the end-to-end suite validates against its
message in the AsyncAPI document (``shared/schemas/asyncapi.yaml``): payload, headers and key.
The suite's ``conftest.py`` records where each topic ended before its first test and runs this
check after its last one."""

from __future__ import annotations

import asyncio
from collections import Counter
from types import SimpleNamespace
from typing import Any

import jsonschema
import orjson
import pytest
import yaml
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord, TopicPartition

from ..contract.conftest import SCHEMAS_ROOT
from ..servers import Servers
from .conftest import Published, end_offsets, partitions

pytestmark = [pytest.mark.e2e]


async def read(kafka: str, start: dict[TopicPartition, int]) -> list[ConsumerRecord[Any, Any]]:
    """Every record from ``start`` to the current end of every event topic."""
    end = await end_offsets(kafka)
    todo = {tp: end[tp] for tp in partitions() if end[tp] > start.get(tp, 0)}
    records: list[ConsumerRecord[Any, Any]] = []
    if not todo:
        return records
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(todo))
        for tp in todo:
            consumer.seek(tp, start.get(tp, 0))
        while todo:
            batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
            for tp, batch in batches.items():
                for r in batch:
                    if tp in todo and r.offset < todo[tp]:
                        records.append(r)
                if tp in todo and await consumer.position(tp) >= todo[tp]:
                    del todo[tp]
    finally:
        await consumer.stop()
    return records


def validators() -> dict[str, tuple[Any, Any]]:
    doc = yaml.safe_load((SCHEMAS_ROOT / "asyncapi.yaml").read_text(encoding="utf-8"))
    return {
        name: (
            jsonschema.Draft202012Validator(msg["payload"]),
            jsonschema.Draft202012Validator(msg["headers"]),
        )
        for name, msg in doc["components"]["messages"].items()
    }


def check(record: ConsumerRecord[Any, Any], by_type: dict[str, tuple[Any, Any]]) -> str | None:
    """Why ``record`` does not fit the document, or None."""
    headers = {k: v.decode() for k, v in record.headers}
    try:
        value = orjson.loads(record.value)
    except orjson.JSONDecodeError:
        return "the value is not JSON"
    event_type = value.get("type") if isinstance(value, dict) else None
    if event_type not in by_type:
        return f"type {event_type!r} is not a message of the document"
    payload, header_schema = by_type[event_type]
    problems = [e.message for e in payload.iter_errors(value)]
    problems += [f"header: {e.message}" for e in header_schema.iter_errors(headers)]
    if record.key is None or record.key.decode() != value.get("partitionkey"):
        problems.append("the key is not the partitionkey")
    return "; ".join(problems[:3]) or None


def test_every_published_record_fits_the_asyncapi_document(
    servers: Servers, published: Published
) -> None:
    if published.tests == 0:
        pytest.skip("nothing ran before: run it with the end-to-end suite (pytest -m e2e)")
    records = asyncio.run(read(servers.kafka, published.start))
    assert records, "the end-to-end suite published nothing?"
    by_type = validators()
    bad = [
        f"{r.topic}[{r.partition}]@{r.offset}: {why}"
        for r in records
        if (why := check(r, by_type)) is not None
    ]
    kinds = Counter(orjson.loads(r.value).get("type") for r in records if not bad)
    print(f"\n[asyncapi] {len(records)} records published by the e2e suite: {dict(kinds)}")
    assert not bad, "\n".join(bad[:20])


def test_check_names_what_does_not_fit() -> None:
    """The check can fail: a golden sample fits; a retyped field, a wrong header or a key
    that is not the partition key do not."""
    by_type = validators()
    sample = (SCHEMAS_ROOT / "samples" / "community.forum.VoteCast.v1.json").read_bytes()
    env = orjson.loads(sample)
    good = [("content-type", b"application/cloudevents+json; charset=utf-8")]
    good.append(("event-type", env["type"].encode()))

    def record(value: dict[str, Any], headers: list[tuple[str, bytes]], key: str) -> Any:
        return SimpleNamespace(value=orjson.dumps(value), headers=headers, key=key.encode())

    assert check(record(env, good, env["partitionkey"]), by_type) is None
    retyped = {**env, "data": {**env["data"], "value": "1"}}
    assert "'1'" in (check(record(retyped, good, env["partitionkey"]), by_type) or "")
    wrong_header = [good[0], ("event-type", b"community.forum.PostCreated.v1")]
    assert "header" in (check(record(env, wrong_header, env["partitionkey"]), by_type) or "")
    assert "key" in (check(record(env, good, "another"), by_type) or "")
    unknown = {**env, "type": "community.forum.Nope.v1"}
    assert "not a message" in (check(record(unknown, good, env["partitionkey"]), by_type) or "")
