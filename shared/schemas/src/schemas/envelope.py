"""CloudEvents 1.0 envelope (structured JSON mode) and the registry of event types.

Every record on every topic is ``Envelope[<EventData>]`` serialised with :func:`to_bytes`.
Consumers call :func:`parse`; it distinguishes three outcomes that a consumer treats
differently (SPEC 2.1, issue "poison messages"):

* a valid known event                → ``Envelope`` with typed ``data``
* a well-formed event of a type this code has never heard of → :class:`UnknownEventTypeError`
  (forward compatibility: ignore it)
* anything else (bad JSON, schema violation, a known event name with an unknown
  version)                           → :class:`PoisonEventError` (dead-letter it)
"""

from __future__ import annotations

import functools
import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Generic, TypeVar

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    field_serializer,
    field_validator,
)

SPECVERSION = "1.0"
CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"
TYPE_RE = re.compile(r"^community\.(?P<producer>[a-z]+)\.(?P<name>[A-Za-z]+)\.v(?P<version>\d+)$")


class EventData(BaseModel):
    """Base of every event's ``data``. Unknown fields are ignored (forward compatibility)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    producer: ClassVar[str]
    event_name: ClassVar[str]
    version: ClassVar[int] = 1

    @classmethod
    def event_type(cls) -> str:
        return f"community.{cls.producer}.{cls.event_name}.v{cls.version}"


T = TypeVar("T", bound=EventData)

EVENT_TYPES: dict[str, type[EventData]] = {}
_KNOWN_NAMES: set[tuple[str, str]] = set()


def register(cls: type[T]) -> type[T]:
    """Class decorator: add an event data model to :data:`EVENT_TYPES`."""
    EVENT_TYPES[cls.event_type()] = cls
    _KNOWN_NAMES.add((cls.producer, cls.event_name))
    return cls


def format_time(t: datetime) -> str:
    """ISO 8601 UTC with milliseconds and ``Z``: ``2026-11-23T10:00:00.123Z``."""
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def utcnow() -> datetime:
    return datetime.now(UTC)


def _as_utc(t: datetime) -> datetime:
    return (t if t.tzinfo is not None else t.replace(tzinfo=UTC)).astimezone(UTC)


#: A timestamp inside event ``data``: normalised to UTC (naive means UTC) and written like the
#: envelope's ``time`` (``2026-11-23T10:00:00.123Z``), so that a record re-serialises unchanged.
UtcDatetime = Annotated[
    datetime,
    AfterValidator(_as_utc),
    PlainSerializer(format_time, return_type=str, when_used="json"),
]


class Envelope(BaseModel, Generic[T]):
    """A CloudEvents 1.0 event. Unknown attributes are kept (extension attributes)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    specversion: str = SPECVERSION
    id: str = Field(min_length=1)
    source: str = Field(min_length=1)
    type: str = Field(min_length=1)
    time: datetime
    subject: str = Field(min_length=1)
    datacontenttype: str = "application/json"
    partitionkey: str = Field(min_length=1)
    actorid: str | None = None
    data: T

    @field_validator("specversion")
    @classmethod
    def _v1(cls, v: str) -> str:
        if v != SPECVERSION:
            raise ValueError(f"specversion must be {SPECVERSION!r}")
        return v

    @field_validator("time")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("time must carry a UTC offset")
        return v.astimezone(UTC)

    @field_serializer("time")
    def _ser_time(self, v: datetime) -> str:
        return format_time(v)

    @property
    def key(self) -> bytes:
        """The Kafka record key (``partitionkey``, UTF-8)."""
        return self.partitionkey.encode()

    def to_dict(self) -> dict[str, Any]:
        d = self.model_dump(mode="json")
        if d.get("actorid") is None:
            d.pop("actorid", None)
        return d

    def to_bytes(self) -> bytes:
        return orjson.dumps(self.to_dict())

    def headers(self) -> list[tuple[str, bytes]]:
        """Kafka headers of the structured-mode binding (no ``ce_`` headers on purpose)."""
        return [("content-type", CONTENT_TYPE.encode()), ("event-type", self.type.encode())]


def new_event(
    data: T,
    *,
    subject: str,
    actor_id: str | None = None,
    time: datetime | None = None,
    event_id: str | None = None,
) -> Envelope[T]:
    """Wrap ``data`` in an envelope; the partition key is the subject (SPEC 2.1)."""
    return Envelope[T](
        id=event_id or str(uuid.uuid4()),
        source=f"/community/{data.producer}",
        type=data.event_type(),
        time=time or utcnow(),
        subject=subject,
        partitionkey=subject,
        actorid=actor_id,
        data=data,
    )


class PoisonEventError(ValueError):
    """The record cannot be processed: it goes to the dead-letter topic."""


class UnknownEventTypeError(ValueError):
    """A well-formed event of a type this code does not know: ignore it."""


def parse(raw: bytes | str | dict[str, Any]) -> Envelope[Any]:
    """Parse one record value into a typed envelope (see module docstring for errors)."""
    try:
        obj = orjson.loads(raw) if isinstance(raw, bytes | str) else raw
    except orjson.JSONDecodeError as e:
        raise PoisonEventError(f"not JSON: {e}") from e
    if not isinstance(obj, dict):
        raise PoisonEventError("a CloudEvent must be a JSON object")
    etype = obj.get("type")
    if not isinstance(etype, str):
        raise PoisonEventError("missing attribute 'type'")
    model = EVENT_TYPES.get(etype)
    if model is None:
        m = TYPE_RE.match(etype)
        if m and (m["producer"], m["name"]) in _KNOWN_NAMES:
            raise PoisonEventError(f"unsupported version of a known event: {etype}")
        try:  # still insist that it is a valid CloudEvent before calling it "unknown"
            Envelope[EventData].model_validate({**obj, "data": {}})
        except ValidationError as e:
            raise PoisonEventError(_explain(e)) from e
        raise UnknownEventTypeError(etype)
    try:
        return _envelope(model).model_validate(obj)
    except ValidationError as e:
        raise PoisonEventError(_explain(e)) from e


@functools.cache
def _envelope(model: type[EventData]) -> type[Envelope[Any]]:
    """``Envelope[model]``: pydantic caches the class too, but its look-up costs a fifth
    of a parse (measured: benchmarks/rebuild.py), and every record is parsed."""
    return Envelope[model]  # type: ignore[valid-type]


def _explain(e: ValidationError) -> str:
    first = e.errors()[0]
    loc = ".".join(str(p) for p in first["loc"])
    return f"{loc}: {first['msg']} ({e.error_count()} error(s))"
