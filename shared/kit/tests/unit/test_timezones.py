"""An IANA time zone field: the OpenAPI enum is exactly what validation accepts."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from communitykit.timezones import TimeZoneName, zone_names


class Body(BaseModel):
    timezone: TimeZoneName = "UTC"


def test_known_zones_pass_and_the_schema_lists_them() -> None:
    assert Body(timezone="Europe/Paris").timezone == "Europe/Paris"
    enum = Body.model_json_schema()["properties"]["timezone"]["enum"]
    assert enum == list(zone_names())
    assert "UTC" in enum and "America/New_York" in enum


@pytest.mark.parametrize("bad", ["", "0" * 63, "Mars/Olympus_Mons", "../etc/passwd"])
def test_unknown_names_are_refused_naming_the_field(bad: str) -> None:
    with pytest.raises(ValidationError) as e:
        Body(timezone=bad)
    assert e.value.errors()[0]["loc"] == ("timezone",)
