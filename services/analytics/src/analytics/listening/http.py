"""``/listening/*``: sentiment, trending terms, search gaps, alerts (reads only).

Bad input is a 422 problem+json naming the parameter (FastAPI's validation of the typed
query parameters, and :class:`InvalidInputError` for the rules between them)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from communitykit.app import runtime_of
from communitykit.problems import InvalidInputError

from ..adapters.mongo import AnalyticsDb
from ..domain.metrics import ratings
from ..entrypoints.http import Conf, From, To, window
from . import reads
from .domain.rules import TrendRule
from .domain.sentiment import NEGATIVE_AT, POSITIVE_AT

router = APIRouter(prefix="/listening", tags=["listening"])

WINDOWS = {"24h": 24, "7d": 24 * 7}
#: sentiment and search gaps default to the last 28 days
DEFAULT_DAYS = 28
Limit = Annotated[int, Query(ge=1, le=100)]


def now() -> datetime:
    return datetime.now(UTC)


class Rating(BaseModel):
    count: int
    mean: float | None


class SentimentItem(BaseModel):
    key: str = Field(description="the product id, tag or group id")
    mean_compound: float = Field(ge=-1, le=1, description="mean VADER compound score")
    negative_share: float = Field(ge=0, le=1, description=f"compound <= {NEGATIVE_AT}")
    neutral_share: float = Field(ge=0, le=1)
    positive_share: float = Field(ge=0, le=1, description=f"compound >= {POSITIVE_AT}")
    count: int = Field(description="items (posts, replies, reviews) scored")
    rating: Rating | None = Field(
        default=None, description="group_by=product: the product's star ratings (all time)"
    )


class SentimentPage(BaseModel):
    group_by: Literal["product", "tag", "group"]
    from_: str = Field(alias="from")
    to: str
    items: list[SentimentItem]
    next_cursor: str | None = None


class TrendItem(BaseModel):
    term: str = Field(description="the stemmed 1- or 2-word phrase")
    display: str = Field(description="how members wrote it")
    count: int = Field(description="items of the window containing it")
    authors: int = Field(description="distinct members who wrote it in the window")
    baseline: int = Field(description="items containing it in the 28 days before (sketched)")
    lift: float = Field(description="window share ÷ baseline share")
    examples: list[str] = Field(description="up to three thread ids")
    series: list[int] = Field(description="count per hour (24h) or per day (7d), oldest first")


class TrendingPage(BaseModel):
    window: Literal["24h", "7d"]
    scope: str
    from_: str = Field(alias="from")
    to: str
    items_in_window: int
    baseline_from: str
    baseline_to: str
    items_in_baseline: int
    items: list[TrendItem]
    next_cursor: str | None = None


class SearchGap(BaseModel):
    query: str = Field(description="the normalised query")
    searches: int
    zero_results: int = Field(description="searches that found nothing")
    asked_anyway: int = Field(description="questions asked with this title that day")
    last_day: str


class SearchGapsPage(BaseModel):
    from_: str = Field(alias="from")
    to: str
    items: list[SearchGap]
    next_cursor: str | None = None


class Alert(BaseModel):
    alert_id: str
    type: Literal["TrendDetected", "SentimentDropped"]
    dimension: Literal["product", "tag"]
    key: str
    day: str
    count: int
    baseline: float
    lift: float
    thread_ids: list[str]
    detected_at: datetime
    published: bool = Field(description="published on analytics.events (fresh spikes only)")


class AlertsPage(BaseModel):
    items: list[Alert]
    next_cursor: str | None = None


def _db(request: Request) -> Any:
    return runtime_of(request).db


@router.get("/sentiment", response_model=SentimentPage, response_model_by_alias=True)
async def sentiment(
    request: Request,
    settings: Conf,
    group_by: Literal["product", "tag", "group"],
    start: From = None,
    end: To = None,
    limit: Limit = 50,
) -> dict[str, Any]:
    """Sentiment of items per product, tag or group over [from, to] (default: the last 28
    days); per product with its star ratings beside it."""
    w = window(start, end, settings, default_days=DEFAULT_DAYS)
    db = _db(request)
    items = (await reads.sentiment(db, group_by, w.start, w.end))[:limit]
    if group_by == "product":
        for it in items:
            r = ratings(it["key"], await AnalyticsDb(db).reviews(it["key"]))
            it["rating"] = {"count": r["count"], "mean": r["mean"]}
    return {"group_by": group_by, "from": w.first, "to": w.last, "items": items}


@router.get("/trending", response_model=TrendingPage, response_model_by_alias=True)
async def trending(
    request: Request,
    window_: Annotated[Literal["24h", "7d"], Query(alias="window")] = "24h",
    group_id: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    product_id: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    limit: Limit = 20,
) -> dict[str, Any]:
    """Terms whose share of the last window is a multiple of their own 28-day baseline share
    (minimum support: 5 items by 3 members), for the community, one group or one product."""
    if group_id and product_id:
        raise InvalidInputError("give group_id or product_id, not both", field="product_id")
    scope = f"g:{group_id}" if group_id else f"p:{product_id}" if product_id else "all"
    found, meta = await reads.trending(
        _db(request), scope, WINDOWS[window_], now(), TrendRule(), limit
    )
    return {
        "window": window_,
        "scope": scope,
        **meta,
        "items": [t.__dict__ for t in found],
    }


@router.get("/search-gaps", response_model=SearchGapsPage, response_model_by_alias=True)
async def search_gaps(
    request: Request, settings: Conf, start: From = None, end: To = None, limit: Limit = 20
) -> dict[str, Any]:
    """The most frequent queries over [from, to] (default: the last 28 days) that found
    nothing or were asked as a question anyway."""
    w = window(start, end, settings, default_days=DEFAULT_DAYS)
    items = await reads.search_gaps(_db(request), w.start, w.end, limit)
    return {"from": w.first, "to": w.last, "items": items}


@router.get("/alerts", response_model=AlertsPage)
async def alerts(request: Request, limit: Limit = 20) -> dict[str, Any]:
    """The most recent spikes (TrendDetected / SentimentDropped), newest day first."""
    docs = await reads.alerts(_db(request), limit)
    items = [
        {
            **d["data"],
            "type": d["type"],
            "detected_at": d["detected_at"],
            "published": d.get("published", False),
        }
        for d in docs
    ]
    return {"items": items}
