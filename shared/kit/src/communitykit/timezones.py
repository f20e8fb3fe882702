"""An IANA time zone name as an API field: its OpenAPI schema lists the names we accept.

A plain ``str`` field with a check in the handler lets a client (and schemathesis, ST202)
send a schema-valid name the service then refuses; enumerating the zones of the installed
tz database (``tzdata`` is pinned, so every replica knows the same ones) makes the document
say exactly what is accepted, and pydantic answers an unknown name with a 422 naming the
field.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import AfterValidator, WithJsonSchema


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
