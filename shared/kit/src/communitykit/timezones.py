"""Time fields of an API: an IANA time zone name whose OpenAPI schema lists the names we
accept, and an instant that must be written as RFC 3339 says.

A plain ``str`` field with a check in the handler lets a client (and schemathesis, ST202)
send a schema-valid name the service then refuses; enumerating the zones of the installed
tz database (``tzdata`` is pinned, so every replica knows the same ones) makes the document
say exactly what is accepted, and pydantic answers an unknown name with a 422 naming the
field.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import AfterValidator, BeforeValidator, WithJsonSchema


@cache
def zone_names() -> tuple[str, ...]:
    """Every zone the tz database has, loadable by ``ZoneInfo`` (sorted)."""
    out = []
    for name in sorted(available_timezones()):
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):  # pragma: no cover - a broken tzdata
            continue
        out.append(name)
    return tuple(out)


def _known(name: str) -> str:
    if name not in zone_names():
        raise ValueError(f"{name!r} is not an IANA time zone (e.g. Europe/Paris, UTC)")
    return name


#: a request field naming an IANA time zone, e.g. ``Europe/Paris``
TimeZoneName = Annotated[
    str,
    AfterValidator(_known),
    WithJsonSchema({"type": "string", "enum": list(zone_names()), "example": "Europe/Paris"}),
]


_ISO_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}")


def _iso_datetime(value: object) -> object:
    """Only an RFC 3339 date-time is one (pydantic alone would also take ``0.5`` as a Unix
    time, which the document's ``format: date-time`` does not allow)."""
    if isinstance(value, str) and not _ISO_DATETIME.match(value):
        raise ValueError("expected an RFC 3339 date-time, e.g. 2026-12-24T17:00:00Z")
    return value


#: a query parameter holding an instant, written as the document says (RFC 3339)
IsoDatetime = Annotated[datetime, BeforeValidator(_iso_datetime)]
