"""The dashboard's Listening section in a real browser (Debian's chromium through Playwright),
on real data: a spike produced to the real topics shows as a trending term with its
sparkline and as alerts, each reviewed product shows its sentiment beside its star rating,
a search that found nothing shows as a gap; no console error, nothing loaded from elsewhere;
a screenshot goes to .run/test/artifacts/dashboard-listening.png."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from schemas import forum as f
from schemas import new_event, topics
from schemas import search as s

from ...conftest import eventually
from .helpers import analytics, caught_up, produce
from .test_dashboard import ARTIFACTS, chromium
from .test_listening import story

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]


@pytest.mark.timeout(600)
async def test_listening_section_renders_real_data(servers: Any, http: httpx.AsyncClient) -> None:
    browser_path = chromium()
    if browser_path is None:
        pytest.skip("no chromium (see test_dashboard.py)")
    from playwright.async_api import async_playwright

    tag = uuid.uuid4().hex[:6]
    now = datetime.now(UTC)
    events = story(tag, now)
    product = f"router-{tag}"
    for k, (rating, body) in enumerate([(5, "Excellent, I love it"), (1, "Awful, it broke")]):
        data = f.PostCreated(
            post_id=f"rv{k}-{tag}",
            thread_id=f"rv{k}-{tag}",
            kind="review",
            author_id=f"r{k}-{tag}",
            title="Review",
            product_id=f"cam-{tag}",
            rating=rating,
            body_length=len(body),
            body=body,
        )
        events.append(
            (topics.FORUM_EVENTS, new_event(data, subject=data.thread_id, actor_id=data.author_id))
        )
    gap = s.SearchPerformed(
        query=f"zigbee bridge {tag}", endpoint="search", result_count=0, sample_rate=1.0
    )
    events.append((topics.SEARCH_EVENTS, new_event(gap, subject=gap.query)))
    first, last = (now - timedelta(days=27)).date(), now.date()
    async with analytics(servers, f"dl{tag}") as proc:
        await produce(servers.kafka, events)
        await eventually(lambda: caught_up(servers, proc), timeout=180, interval=1)
        await eventually(
            lambda: _alerts(http, proc.url), timeout=30
        )  # the alerts are written after the batch
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        errors: list[str] = []
        requests: list[str] = []
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path=browser_path,
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                ],
            )
            try:
                page = await browser.new_page(viewport={"width": 1440, "height": 1000})
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.on("request", lambda r: requests.append(r.url))
                await page.goto(f"{proc.url}/dashboard?from={first}&to={last}")
                await page.wait_for_selector("body[data-listening=ready]", timeout=30000)
                data: Any = await page.evaluate("window.__listening")
                trending_rows = await page.locator("#ls-trending tr").all_inner_texts()
                sparks = await page.locator("#ls-trending svg.spark polyline").count()
                sentiment_rows = await page.locator("#ls-sentiment tr").all_inner_texts()
                gap_rows = await page.locator("#ls-gaps tr").all_inner_texts()
                alert_items = await page.locator("#ls-alerts li").all_inner_texts()
                await page.locator("#listening").scroll_into_view_if_needed()
                await page.screenshot(
                    path=str(ARTIFACTS / "dashboard-listening.png"), full_page=True
                )
                await page.click("#ls-window button[data-window='7d']")
                await page.wait_for_function("window.__listening.trending.window === '7d'")
                week: Any = await page.evaluate("window.__listening.trending")
            finally:
                await browser.close()
    assert errors == [], errors
    assert all(u.startswith(proc.url) or u.startswith("data:") for u in requests), requests
    assert any("battery drain" in r for r in trending_rows), trending_rows
    assert not any(r.split("\n")[0] in ("wifi", "mesh", "wifi mesh") for r in trending_rows)
    assert sparks == len(data["trending"]["items"]) >= 2
    by_product = {r.split("\t")[0]: r for r in sentiment_rows}
    assert set(by_product) == {product, f"cam-{tag}"}, sentiment_rows
    assert "★ 3.00 (2)" in by_product[f"cam-{tag}"]
    assert "no ratings" in by_product[product]
    assert any(f"zigbee bridge {tag}" in r for r in gap_rows), gap_rows
    assert len([a for a in alert_items if tag in a]) == 4, alert_items
    assert len(week["items"][0]["series"]) == 7


async def _alerts(http: httpx.AsyncClient, url: str) -> bool:
    r = await http.get(f"{url}/listening/alerts")
    return r.status_code == 200 and len(r.json()["items"]) >= 4
