"""README's configuration reference is what the Settings classes say (generated, never stale)."""

from __future__ import annotations

from pathlib import Path

import config_reference as cr
import pytest
from discovery import discover
from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from communitykit.settings import ServiceSettings

from .conftest import ROOT


def test_readme_matches_the_settings_classes() -> None:
    assert cr.check() == [], "README.md is stale: run `make config-docs`"


def test_a_changed_default_makes_the_readme_stale(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    text = (ROOT / "README.md").read_text()
    assert "| `FORUM_PORT` | int | `8001` |" in text
    readme.write_text(
        text.replace("| `FORUM_PORT` | int | `8001` |", "| `FORUM_PORT` | int | `9` |")
    )
    diff = cr.check(readme)
    assert any(line.startswith("-") and "`9`" in line for line in diff)


def test_every_setting_of_every_service_is_listed() -> None:
    text = (ROOT / "README.md").read_text()
    for service in discover():
        settings = service.settings_class()
        for field in settings.model_fields:
            name, _ = cr.env_name(settings, field)
            assert f"| `{name}` |" in text, name


def test_names_defaults_and_meanings_come_from_the_class() -> None:
    class Settings(ServiceSettings):
        model_config = SettingsConfigDict(env_prefix="DEMO_", extra="ignore")

        #: how many widgets
        widgets: int = 3
        #: a shared knob
        knob: float = Field(default=2.0, validation_alias=AliasChoices("SHARED_KNOB"))

    rows = {v.name: (v, shared) for v, shared in cr.variables(Settings)}
    assert rows["DEMO_WIDGETS"][0].default == "3"
    assert rows["DEMO_WIDGETS"][0].meaning == "how many widgets"
    assert rows["DEMO_WIDGETS"][1] is False
    assert rows["SHARED_KNOB"][1] is True and rows["SHARED_KNOB"][0].default == "2"
    assert rows["DEMO_PORT"][0].meaning.startswith("HTTP port")  # inherited documentation


def test_an_undocumented_setting_is_refused() -> None:
    class Settings(ServiceSettings):
        model_config = SettingsConfigDict(env_prefix="DEMO_", extra="ignore")
        secret_knob: int = 1

    with pytest.raises(SystemExit, match="secret_knob has no `#:` comment"):
        cr.variables(Settings)


def test_otel_variables_are_the_ones_the_kit_reads() -> None:
    telemetry = (ROOT / "shared/kit/src/communitykit/telemetry.py").read_text()
    for name, _, _ in cr.OTEL_VARIABLES:
        assert name in telemetry, name
