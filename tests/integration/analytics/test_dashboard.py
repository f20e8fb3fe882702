"""GET /dashboard in a real browser (Debian's chromium driven by Playwright): the page
renders a month of real data (events produced to the real topics, projected by a real
analytics process), loads only from the service itself, shows no console errors, and a
screenshot is written to .run/test/artifacts/dashboard.png."""

from __future__ import annotations

import random
import shutil
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from ...conftest import eventually
from ...servers import ROOT, Servers
from .helpers import Story, analytics, at, caught_up, produce
from .test_engagement import end_offsets
from .test_engagement import story as engagement_story

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

START, DAYS = date(2026, 10, 1), 30
ARTIFACTS = ROOT / ".run" / "test" / "artifacts"


def chromium() -> str | None:
    for candidate in (shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def month(tag: str) -> Story:
    """A busy, growing community over 30 days (deterministic)."""
    rng = random.Random(42)
    s = Story(tag)
    names = [
        "ana", "ben", "chen", "dara", "eli", "fay", "gus", "hana", "ivo", "jun", "kai", "lea",
        "max", "nia", "omar", "pia", "quinn", "rosa", "sven", "tara", "uma", "vik", "wen",
        "xia", "yuri", "zoe",
    ]  # fmt: skip
    members = [s.u(n) for n in names]
    support, staff = s.u("sam-support"), s.u("stella-staff")
    products = [f"router-{tag}", f"modem-{tag}", f"mesh-{tag}", f"app-{tag}"]
    ideas: list[tuple[str, str, str]] = []
    n = 0
    for d in range(DAYS):
        day = START + timedelta(days=d)
        active = members[: 8 + (d * 18) // DAYS]  # the community grows
        for _ in range(2 + d // 6 + rng.randint(0, 3)):
            n += 1
            asker = rng.choice(active)
            q = f"q{n}-{tag}"
            asked = at(day, rng.randint(7, 20), rng.randint(0, 59))
            s.post(asked, asker, "question", q)
            roll = rng.random()
            if roll < 0.12:  # never answered by a peer: escalated, support answers
                s.escalate(asked + timedelta(hours=24), q, asker, asked)
                r = s.post(asked + timedelta(hours=26), support, "reply", q)
                s.resolve(asked + timedelta(hours=26), q, support)
                s.accept(asked + timedelta(hours=27), asker, q, r, support)
                continue
            if roll < 0.2:
                continue  # still unanswered: a miss
            wait = timedelta(minutes=rng.choice([4, 9, 15, 25, 40, 70, 120, 300, 900]))
            helper = rng.choice([m for m in active if m != asker])
            r = s.post(asked + wait, helper, "reply", q)
            for voter in rng.sample(active, rng.randint(0, 4)):
                if voter != helper:
                    s.vote(asked + wait + timedelta(minutes=30), voter, q, r, "reply", helper)
            if rng.random() < 0.6:
                s.accept(asked + wait + timedelta(hours=1), asker, q, r, helper)
            if rng.random() < 0.4:
                other = rng.choice([m for m in active if m not in (asker, helper)])
                s.post(asked + wait + timedelta(minutes=50), other, "reply", q)
        if d % 2 == 0:
            reviewer = rng.choice(active)
            product = rng.choice(products)
            rating = rng.choices([1, 2, 3, 4, 5], weights=[1, 1, 2, 4, 5])[0]
            s.post(
                at(day, 13, rng.randint(0, 59)),
                reviewer,
                "review",
                f"rv{d}-{tag}",
                product_id=product,
                rating=rating,
            )
        if d % 3 == 1:
            author = rng.choice(active)
            idea = f"idea{d}-{tag}"
            s.idea(at(day, 11), author, idea)
            ideas.append((idea, author, "new"))
            for voter in rng.sample(active, rng.randint(1, 6)):
                if voter != author:
                    s.idea_vote(at(day, 12, rng.randint(0, 59)), voter, idea, author)
        for k, (idea, author, status) in enumerate(ideas):
            nxt = {"new": "under_review", "under_review": "planned", "planned": "in_progress"}
            if status in nxt and rng.random() < 0.15:
                to = "declined" if status == "under_review" and k % 4 == 3 else nxt[status]
                s.status(at(day, 16), staff, idea, author, status, to)
                ideas[k] = (idea, author, to)
    return s


async def test_dashboard_renders_real_data_without_console_errors(
    servers: Servers, http: httpx.AsyncClient
) -> None:
    browser_path = chromium()
    if browser_path is None:
        pytest.skip(
            "no chromium: `make test` installs Debian's chromium with apt-get when it can "
            "(root with a reachable package registry); install it to run this test"
        )
    from playwright.async_api import async_playwright

    tag = uuid.uuid4().hex[:6]
    s = month(tag)
    end = START + timedelta(days=DAYS - 1)
    async with analytics(servers, "dash", ANALYTICS_INFLUENCE_INTERVAL_SECONDS="1") as proc:
        # plus a gathering and notifications inside the month (the engagement panels)
        await produce(servers.kafka, s.events + engagement_story(tag, START + timedelta(days=9)))
        marks = await end_offsets(servers)
        await eventually(lambda: caught_up(servers, proc, marks), timeout=120)
        caught = datetime.now(UTC)
        gathered = (await http.get(f"{proc.url}/gatherings/overview?from={START}&to={end}")).json()
        assert gathered["held"] == 1

        async def influence_recomputed() -> Any:  # the scheduled recompute, after catch-up
            body = (await http.get(f"{proc.url}/influence?limit=10")).json()
            at_ = body["computed_at"]
            return body if at_ and datetime.fromisoformat(at_) >= caught else None

        ranked = await eventually(influence_recomputed, timeout=60)
        overview = (await http.get(f"{proc.url}/overview?from={START}&to={end}")).json()
        assert overview["questions"] > 50 and overview["active_users"] > 20
        served = (await http.get(f"{proc.url}/static/vendor/chart.umd.min.js")).text
        assert "Chart" in served[:2000], "the chart library is served by the service"

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
                page.on(
                    "console",
                    lambda m: errors.append(m.text) if m.type == "error" else None,
                )
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.on("request", lambda r: requests.append(r.url))
                await page.goto(f"{proc.url}/dashboard?from={START}&to={end}")
                await page.wait_for_selector("body[data-state=ready]", timeout=30000)
                await page.wait_for_selector("#influence-card[data-state=ready]", timeout=30000)
                data: Any = await page.evaluate("window.__dashboard")
                inf: Any = await page.evaluate("window.__influence")
                explained = await page.locator("#influence-explain").inner_text()
                method = await page.locator("#influence-method").inner_text()
                kpi = await page.locator(".kpi .value").first.inner_text()
                health = await page.locator("#health-value").inner_text()
                formula = await page.locator("#formula").inner_text()
                champions = await page.locator("#champions tr").count()
                canvases = await page.locator("canvas").count()
                await page.wait_for_selector("body[data-engagement=ready]", timeout=30000)
                month_held = await page.locator("#gatherings-kpis .kpi .value").first.inner_text()
                show_up = await page.locator("#gatherings-kpis .kpi .value").nth(2).inner_text()
                await page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
                # the range picker reloads everything
                await page.click("button[data-days='7']")
                await page.wait_for_selector("body[data-state=ready]", timeout=30000)
                week = await page.evaluate("window.__dashboard.overview")
                first = str(end - timedelta(days=6))
                await page.wait_for_function(
                    f"window.__engagement && window.__engagement.gatherings.from === '{first}'"
                    " && document.body.dataset.engagement === 'ready'",
                    timeout=30000,
                )
                engagement: Any = await page.evaluate("window.__engagement")
                held = await page.locator("#gatherings-kpis .kpi .value").first.inner_text()
                delivered = await page.locator("#notifications-kpis .kpi .hint").first.inner_text()
            finally:
                await browser.close()
    assert errors == [], errors
    assert all(u.startswith(proc.url) or u.startswith("data:") for u in requests), requests
    assert data["overview"]["active_users"] == overview["active_users"]
    assert kpi == f"{overview['active_users']:,}"
    assert health == f"{overview['health_index']:.1f}"
    assert "health = 100" in formula
    assert champions >= 5 and canvases == 10
    # the influence chart has real spread: ten members, ten different scores, as the API
    scores = [r["score"] for r in inf["items"]]
    assert len(scores) == 10 and len(set(scores)) == 10
    assert inf["items"] == ranked["items"]
    assert explained.startswith(f"{ranked['items'][0]['user_id']}: Ranked 1 of")
    assert "PageRank" in method and "90 days" in method
    # the gatherings and notifications panels (static/engagement.js), reloaded with the range
    assert (month_held, show_up) == ("1", "50.0%")
    assert engagement["gatherings"]["to"] == str(end)
    assert held == "0"  # the gathering is on the 10th day, outside the last 7
    assert delivered.startswith("0 delivered")
    assert (week["from"], week["to"]) == (str(end - timedelta(days=6)), str(end))
    assert (ARTIFACTS / "dashboard.png").stat().st_size > 50_000
