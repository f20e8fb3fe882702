"""GET /dashboard: the page, and the static files it needs (served by the service itself:
the chart library is a pinned npm package copied into static/vendor at build time, so the
page works offline and fetches nothing from a CDN)."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

STATIC = Path(__file__).resolve().parents[1] / "static"
CHART_JS = STATIC / "vendor" / "chart.umd.min.js"

log = logging.getLogger(__name__)
router = APIRouter()


def check_assets() -> bool:
    """The chart library is installed by `make assets` (npm ci); say so loudly if not."""
    if CHART_JS.exists():
        return True
    log.error("dashboard chart library missing at %s: run `make assets`", CHART_JS)
    return False


@router.get("/dashboard", include_in_schema=False)
async def dashboard() -> FileResponse:
    return FileResponse(STATIC / "dashboard.html", media_type="text/html; charset=utf-8")
