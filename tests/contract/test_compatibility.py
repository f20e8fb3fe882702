"""Forward compatibility and poison messages (SPEC 2.1).

Consumers ignore unknown attributes, unknown ``data`` fields and unknown event types; anything
that breaks the contract of a type they know (including an unknown *version* of a known event)
is a poison message for the dead-letter topic.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from schemas import EVENT_TYPES, PoisonEventError, UnknownEventTypeError, parse

SampleOf = Callable[[str], dict[str, Any]]


def _raw(obj: object) -> bytes:
    return orjson.dumps(obj)


def test_error_kinds_are_distinct() -> None:
    assert not issubclass(UnknownEventTypeError, PoisonEventError)
    assert not issubclass(PoisonEventError, UnknownEventTypeError)


# --- accepted and ignored -----------------------------------------------------------------


def test_unknown_envelope_attributes_are_accepted(sample: dict[str, Any]) -> None:
    expected = parse(_raw(sample))
    extended = {
        **sample,
        "tenantid": "acme",
        "dataschema": "https://example.com/s.json",
        "sequence": 17,
    }
    env = parse(_raw(extended))
    assert env.data == expected.data
    assert (env.type, env.id, env.subject, env.actorid) == (
        expected.type,
        expected.id,
        expected.subject,
        expected.actorid,
    )
    # and the SDK agrees that this is still a valid CloudEvent
    ce = JSONFormat().read(CloudEvent, _raw(extended))
    assert ce.get_extension("tenantid") == "acme"


def test_unknown_data_fields_are_ignored(sample: dict[str, Any]) -> None:
    expected = parse(_raw(sample))
    extended = {
        **sample,
        "data": {**sample["data"], "added_in_a_later_release": {"x": [1]}, "sentiment": 0.93},
    }
    env = parse(_raw(extended))
    assert env.data == expected.data
    dumped = env.data.model_dump(mode="json")
    assert "added_in_a_later_release" not in dumped
    assert "sentiment" not in dumped


def test_unknown_media_item_fields_are_ignored(sample_of: SampleOf) -> None:
    s = sample_of("community.forum.PostCreated.v1.media")
    s["data"]["media"][0]["width"] = 1920
    env = parse(_raw(s))
    assert (
        env.data.model_dump(mode="json")["media"]
        == (sample_of("community.forum.PostCreated.v1.media")["data"]["media"])
    )


@pytest.mark.parametrize(
    "unknown_type",
    [
        "community.billing.InvoicePaid.v1",
        "community.forum.PostPinned.v1",
        "community.ideas.PostCreated.v1",  # a forum name, but from another producer
        "com.example.object.deleted.v2",
    ],
)
def test_entirely_unknown_type_is_ignorable(sample_of: SampleOf, unknown_type: str) -> None:
    s = sample_of("community.forum.PostCreated.v1")
    s["type"] = unknown_type
    s["data"] = {"whatever": "the new producer sends", "n": 1}
    with pytest.raises(UnknownEventTypeError) as info:
        parse(_raw(s))
    assert not isinstance(info.value, PoisonEventError)


def test_unknown_type_must_still_be_a_cloudevent(sample_of: SampleOf) -> None:
    s = sample_of("community.forum.PostCreated.v1")
    s["type"] = "community.billing.InvoicePaid.v1"
    del s["id"]
    with pytest.raises(PoisonEventError):
        parse(_raw(s))


# --- poison -----------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["v9", "v2", "v0"])
def test_unknown_version_of_known_event_is_poison(
    event_type: str, sample_of: SampleOf, version: str
) -> None:
    s = sample_of(event_type)
    s["type"] = event_type.rsplit(".", 1)[0] + "." + version
    with pytest.raises(PoisonEventError):
        parse(_raw(s))


@pytest.mark.parametrize(
    "raw", [b"", b"{", b'{"type": ', b"not json", b"\xff\xfe", "{'single': 'quotes'}"]
)
def test_bad_json_is_poison(raw: bytes | str) -> None:
    with pytest.raises(PoisonEventError):
        parse(raw)


@pytest.mark.parametrize("raw", [b"[]", b'[{"type": "x"}]', b"42", b"null", b'"x"', b"true"])
def test_non_object_is_poison(raw: bytes) -> None:
    with pytest.raises(PoisonEventError):
        parse(raw)


@pytest.mark.parametrize(
    "attr", ["type", "id", "source", "time", "subject", "partitionkey", "data"]
)
def test_missing_envelope_attribute_is_poison(sample_of: SampleOf, attr: str) -> None:
    s = sample_of("community.forum.VoteCast.v1")
    del s[attr]
    with pytest.raises(PoisonEventError):
        parse(_raw(s))


@pytest.mark.parametrize(
    ("attr", "value"),
    [
        ("type", 42),
        ("type", None),
        ("specversion", "0.3"),
        ("id", ""),
        ("subject", ""),
        ("partitionkey", ""),
        ("time", "2026-11-23T10:00:00.123"),  # no offset: not UTC
        ("time", "yesterday"),
        ("source", ""),
        ("data", None),
        ("data", []),
        ("data", "a string"),
    ],
)
def test_invalid_envelope_attribute_is_poison(
    sample_of: SampleOf, attr: str, value: object
) -> None:
    s = sample_of("community.forum.VoteCast.v1")
    s[attr] = value
    with pytest.raises(PoisonEventError):
        parse(_raw(s))


def _required_fields() -> list[tuple[str, str]]:
    return [
        (t, name)
        for t, model in sorted(EVENT_TYPES.items())
        for name, field in model.model_fields.items()
        if field.is_required()
    ]


@pytest.mark.parametrize(
    ("etype", "field"), _required_fields(), ids=[f"{t}-{f}" for t, f in _required_fields()]
)
def test_missing_required_data_field_is_poison(sample_of: SampleOf, etype: str, field: str) -> None:
    s = sample_of(etype)
    del s["data"][field]
    with pytest.raises(PoisonEventError, match=field):
        parse(_raw(s))


WRONG_VALUES: list[tuple[str, str, Any]] = [
    ("community.forum.VoteCast.v1", "value", 2),
    ("community.forum.VoteCast.v1", "value", -2),
    ("community.forum.VoteCast.v1", "previous_value", 5),
    ("community.forum.VoteCast.v1", "value", "1"),
    ("community.forum.VoteCast.v1", "target_type", "idea"),
    ("community.forum.VoteCast.v1", "target_kind", "poll"),
    ("community.ideas.VoteCast.v1", "value", 2),
    ("community.ideas.VoteCast.v1", "target_type", "post"),
    ("community.forum.PostCreated.v1.review", "rating", 6),
    ("community.forum.PostCreated.v1.review", "rating", 0),
    ("community.forum.PostCreated.v1.review", "rating", 4.5),
    ("community.forum.PostCreated.v1", "kind", "poll"),
    ("community.forum.PostCreated.v1", "body_length", -1),
    ("community.forum.PostCreated.v1", "tags", "thermostat,wifi"),
    ("community.forum.PostCreated.v1", "post_id", 123),
    ("community.forum.PostCreated.v1", "author_id", None),
    ("community.forum.PostCreated.v1.media", "media", [{"url": "https://x.example/a.png"}]),
    ("community.forum.PostCreated.v1.media", "media", "https://x.example/a.png"),
    ("community.forum.PostEdited.v1", "fields", "body"),
    ("community.forum.PostDeleted.v1", "kind", "comment"),
    ("community.forum.QuestionEscalated.v1", "reason", "bored"),
    ("community.forum.QuestionEscalated.v1", "asked_at", "last tuesday"),
    ("community.forum.QuestionEscalated.v1", "waited_seconds", -5),
    ("community.forum.EscalationResolved.v1", "resolution", "fixed"),
    ("community.ideas.IdeaStatusChanged.v1", "to_status", "shipped"),
    ("community.ideas.IdeasMerged.v1", "moved_votes", -1),
    ("community.reputation.LevelChanged.v1", "to_level", 5),
    ("community.reputation.ReputationChanged.v1", "total", 0),
    ("community.reputation.ReputationChanged.v1", "delta", "ten"),
]


@pytest.mark.parametrize(
    ("stem", "field", "value"), WRONG_VALUES, ids=[f"{s}-{f}={v!r}" for s, f, v in WRONG_VALUES]
)
def test_wrong_data_value_is_poison(
    sample_of: SampleOf, stem: str, field: str, value: object
) -> None:
    s = sample_of(stem)
    assert field in s["data"]
    s["data"][field] = value
    with pytest.raises(PoisonEventError, match=field):
        parse(_raw(s))
