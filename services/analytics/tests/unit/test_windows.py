"""Bad windows are 422 problems naming the parameter (the kit maps InvalidInputError)."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import pytest

from analytics.config import Settings
from analytics.entrypoints import http
from communitykit.problems import InvalidInputError


def test_from_after_to_names_from(community: Any) -> None:
    with pytest.raises(InvalidInputError) as e:
        http.window(date(2026, 11, 3), date(2026, 11, 2), Settings())
    assert e.value.field == "from" and e.value.status == 422


def test_more_than_366_days_names_to() -> None:
    with pytest.raises(InvalidInputError) as e:
        http.window(date(2025, 1, 1), date(2026, 1, 2), Settings())
    assert e.value.field == "to"
    assert http.window(date(2025, 1, 1), date(2026, 1, 1), Settings()).days == 366


def test_unknown_metric_names_metric(community: Any) -> None:
    with pytest.raises(InvalidInputError) as e:
        asyncio.run(http.timeseries(community.store, Settings(), "nope", None, None))
    assert e.value.field == "metric"


def test_defaults_are_today_and_the_last_30_days(community: Any) -> None:
    w = http.window(None, None, Settings())
    assert (w.first, w.last) == ("2026-12-01", "2026-12-01")
    w = http.window(None, None, Settings(), default_days=30)
    assert (w.first, w.last) == ("2026-11-02", "2026-12-01")


def test_sla_comes_from_the_forum_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORUM_ESCALATION_AFTER_SECONDS", "60")
    assert Settings().escalation_after_seconds == 60
