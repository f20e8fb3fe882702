"""Analytics HTTP API (reads only): overview, timeseries, ratings (influence and champions:
``influence/http.py``)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BeforeValidator

from communitykit.app import runtime_of
from communitykit.problems import InvalidInputError

from ..adapters.mongo import AnalyticsDb
from ..config import Settings
from ..domain import metrics as m

router = APIRouter()

#: champions look at the badge's window (SPEC 4: "in 30 days")
CHAMPION_DAYS = 30


def get_db(request: Request) -> AnalyticsDb:
    return AnalyticsDb(runtime_of(request).db)


def get_settings(request: Request) -> Settings:
    settings = request.app.state.settings
    assert isinstance(settings, Settings)
    return settings


Db = Annotated[AnalyticsDb, Depends(get_db)]
Conf = Annotated[Settings, Depends(get_settings)]
Limit = Annotated[int, Query(ge=1, le=100)]

ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_day(value: object) -> object:
    """Only ``YYYY-MM-DD`` is a day (pydantic alone would also take ``0`` as 1970-01-01)."""
    if isinstance(value, str) and not ISO_DAY.fullmatch(value):
        raise ValueError("expected an ISO date, YYYY-MM-DD")
    return value


Day = Annotated[date, BeforeValidator(_iso_day)]
From = Annotated[
    Day | None, Query(alias="from", description="first UTC day (ISO date), default today")
]
To = Annotated[
    Day | None, Query(alias="to", description="last UTC day, inclusive (ISO date), default today")
]
Metric = Annotated[
    str,
    Query(description="one of /metrics/catalog", json_schema_extra={"enum": list(m.TIMESERIES)}),
]


def now() -> datetime:
    return datetime.now(UTC)


def window(
    start: date | None, end: date | None, settings: Settings, default_days: int = 1
) -> m.Window:
    """The [from, to] window; 422 naming the parameter when it makes no sense."""
    end = end or now().date()
    start = start or end - timedelta(days=default_days - 1)
    if start > end:
        raise InvalidInputError(f"'from' ({start}) is after 'to' ({end})", field="from")
    w = m.Window(start, end)
    if w.days > settings.max_window_days:
        raise InvalidInputError(
            f"the window spans {w.days} days; at most {settings.max_window_days} are allowed",
            field="to",
        )
    return w


@router.get("/overview")
async def overview(db: Db, settings: Conf, start: From = None, end: To = None) -> dict[str, Any]:
    """SPEC 5 metrics over [from, to] (inclusive UTC days; default today)."""
    w = window(start, end, settings)
    prev = w.previous()
    return m.overview(
        w,
        now(),
        settings.escalation_after_seconds,
        await db.days(w.first, w.last),
        await db.day_users(w.first, w.last),
        await db.day_users(prev.first, prev.last),
        await db.questions(w.first, w.last),
        await db.ideas(w.first, w.last),
        await db.first_days(w.first, w.last),
        await db.staff(),
    )


@router.get("/timeseries")
async def timeseries(
    db: Db, settings: Conf, metric: Metric, start: From = None, end: To = None
) -> dict[str, Any]:
    """One point per UTC day of [from, to]: {metric, points: [{day, value}]}."""
    if metric not in m.TIMESERIES:
        raise InvalidInputError(
            f"unknown metric {metric!r}; one of: {', '.join(m.TIMESERIES)}", field="metric"
        )
    w = window(start, end, settings)
    before = w.previous().last
    points = m.timeseries(
        metric,
        w,
        now(),
        settings.escalation_after_seconds,
        await db.days(w.first, w.last),
        await db.day_users(before, w.last),
        await db.questions(w.first, w.last),
        await db.first_days(w.first, w.last),
        await db.staff(),
    )
    return {"metric": metric, "from": w.first, "to": w.last, "points": points}


@router.get("/metrics/catalog")
async def catalog() -> dict[str, Any]:
    """The metric names /timeseries accepts and the health index formula."""
    return {"timeseries": list(m.TIMESERIES), "health_formula": m.HEALTH_FORMULA}


@router.get("/products")
async def products(db: Db, limit: Limit = 10) -> dict[str, Any]:
    """Reviewed products, most reviewed first, each with its ratings (for the dashboard)."""
    return {"items": m.products(await db.all_reviews(), limit), "next_cursor": None}


@router.get("/products/{product_id}/ratings")
async def ratings(product_id: str, db: Db) -> dict[str, Any]:
    """Count, mean and distribution of the product's review ratings (deleted reviews out)."""
    return m.ratings(product_id, await db.reviews(product_id))
