"""Interoperability with the official CloudEvents Python SDK 2.x (``cloudevents.core``):
every golden sample, and everything ``new_event(...).to_bytes()`` produces, is a valid
CloudEvent in JSON format and a valid structured-mode record of the Kafka protocol binding."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings import kafka
from cloudevents.core.exceptions import CloudEventValidationError
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from schemas import EVENT_TYPES, Envelope, new_event, parse

TRACEPARENT = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def _wire_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _record(env: Envelope[Any], value: bytes) -> kafka.KafkaMessage:
    """The Kafka record as our producers write it (SPEC 2.1)."""
    headers = dict(env.headers())
    headers["traceparent"] = TRACEPARENT
    headers["tracestate"] = b"community=forum"
    return kafka.KafkaMessage(headers=headers, key=env.key, value=value)


def _assert_same_event(ce: BaseCloudEvent, expected: dict[str, Any]) -> None:
    assert isinstance(ce, CloudEvent)
    assert ce.get_specversion() == "1.0"
    assert ce.get_id() == expected["id"]
    assert ce.get_source() == expected["source"]
    assert ce.get_type() == expected["type"]
    assert ce.get_subject() == expected["subject"]
    assert ce.get_datacontenttype() == "application/json"
    assert ce.get_time() == _wire_time(expected["time"])
    assert ce.get_extension("partitionkey") == expected["partitionkey"]
    assert ce.get_extension("actorid") == expected.get("actorid")
    assert ce.get_data() == expected["data"]


# --- golden samples ---------------------------------------------------------------------------


@pytest.mark.parametrize("factory", [CloudEvent, None], ids=["v1-factory", "auto-detect"])
def test_sample_reads_with_sdk_json_format(
    sample_bytes: bytes, sample: dict[str, Any], factory: type[CloudEvent] | None
) -> None:
    ce = JSONFormat().read(factory, sample_bytes)
    _assert_same_event(ce, sample)


def test_sample_reads_through_kafka_binding_in_structured_mode(
    sample_bytes: bytes, sample: dict[str, Any]
) -> None:
    env = parse(sample_bytes)
    message = _record(env, sample_bytes)
    assert not any(h.lower().startswith(kafka.CE_PREFIX) for h in message.headers), (
        "a ce_ header would switch the binding to binary mode"
    )
    ce = kafka.from_kafka_event(message)
    _assert_same_event(ce, sample)
    # the same in explicitly structured mode; binary mode cannot make sense of the record
    _assert_same_event(kafka.from_structured_event(message), sample)
    with pytest.raises(CloudEventValidationError):
        kafka.from_binary_event(message)


def test_sdk_writes_what_we_read(sample_bytes: bytes, sample: dict[str, Any]) -> None:
    """What another producer using the SDK would write (e.g. microsecond times) parses to the
    same event, and the SDK derives the same Kafka key from ``partitionkey``."""
    ce = JSONFormat().read(None, sample_bytes)
    message = kafka.to_structured_event(ce)
    assert message.key == sample["partitionkey"]
    ours = parse(sample_bytes)
    theirs = parse(message.value)
    assert theirs == ours
    assert orjson.loads(theirs.to_bytes()) == sample


# --- our producer -----------------------------------------------------------------------------


@pytest.mark.parametrize("with_actor", [True, False], ids=["actor", "system"])
def test_new_event_is_accepted_by_sdk(
    event_type: str, all_samples: dict[str, dict[str, Any]], with_actor: bool
) -> None:
    data = EVENT_TYPES[event_type].model_validate(all_samples[event_type]["data"])
    env = new_event(
        data,
        subject="subject-42",
        actor_id="u_2b7f4e91c3d0" if with_actor else None,
        time=datetime(2026, 11, 23, 10, 0, 0, 123000, tzinfo=UTC),
    )
    value = env.to_bytes()
    wire = orjson.loads(value)
    assert wire["time"] == "2026-11-23T10:00:00.123Z"
    assert ("actorid" in wire) is with_actor

    expected = {**wire, "data": data.model_dump(mode="json")}
    _assert_same_event(JSONFormat().read(CloudEvent, value), expected)
    _assert_same_event(kafka.from_kafka_event(_record(env, value)), expected)
    assert env.key == b"subject-42"
    assert parse(value) == env


def test_new_event_defaults_are_valid_cloudevents() -> None:
    """Without explicit id and time: a fresh uuid4 id, the current UTC time."""
    data = EVENT_TYPES["community.forum.GroupJoined.v1"].model_validate(
        {"group_id": "g1", "user_id": "u1"}
    )
    before = datetime.now(UTC)
    first, second = (new_event(data, subject="g1", actor_id="u1") for _ in range(2))
    assert first.id != second.id
    ce = JSONFormat().read(CloudEvent, first.to_bytes())
    t = ce.get_time()
    assert t is not None
    assert t.tzinfo is not None
    assert before.replace(microsecond=before.microsecond // 1000 * 1000) <= t
    assert ce.get_source() == "/community/forum"
