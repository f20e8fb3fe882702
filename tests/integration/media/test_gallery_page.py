"""GET /galleries/{id}/view in a real browser (Debian's chromium driven by Playwright): the
page renders without console errors, every image is decoded, the video shows its poster and
the browser fetches the video with Range requests; nothing leaves the service's origin.

The screenshot it takes is the one in services/media/README.md (``docs/gallery.png``)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from ...conftest import ServiceProcess, auth
from ...servers import ROOT, Servers
from . import files
from .conftest import ready_upload, set_level, uid

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

ARTIFACTS = ROOT / ".run" / "test" / "artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update"]  # fmt: skip


async def until(page: Any, expression: str, timeout: float = 30) -> None:
    """Poll an expression (``wait_for_function`` evaluates strings with ``eval``, which the
    page's Content-Security-Policy rightly forbids)."""
    for _ in range(int(timeout / 0.1)):
        if await page.evaluate(expression):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{expression} did not hold within {timeout}s")


def chromium() -> str | None:
    for candidate in (shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@pytest.mark.skipif(not files.has_ffmpeg(), reason="ffmpeg missing: `make media-tools`")
async def test_gallery_page_in_chromium(
    media: ServiceProcess, http: httpx.AsyncClient, servers: Servers, media_db: Any, tmp_path: Path
) -> None:
    browser_path = chromium()
    if browser_path is None:
        pytest.skip(
            "no chromium: `make test` installs Debian's chromium with apt-get when it can "
            "(root with a reachable package registry); install it to run this test"
        )
    from playwright.async_api import async_playwright

    author = uid("maker")
    await set_level(servers, media_db, author, 1)
    r = await http.post(
        f"{media.url}/galleries",
        headers=auth(author),
        json={
            "title": "Fitting the T5 thermostat",
            "description": "Photos and a clip, step by step.",
            "product_id": "thermo-t5",
        },
    )
    gid = r.json()["gallery_id"]
    photos = [files.jpeg(1600, 1000), files.jpeg(1200, 1200, orientation=6), files.png(900, 600)]
    captions = ["The box", "Back plate on the wall", "Wiring diagram"]
    for i, (data, caption) in enumerate(zip(photos, captions, strict=True)):
        item = await ready_upload(http, media.url, author, data, filename=f"p{i}.jpg")
        await http.post(
            f"{media.url}/galleries/{gid}/items",
            headers=auth(author),
            json={
                "media_id": item["media_id"],
                "caption": caption,
                "alt_text": f"Step {i + 1}: {caption}",
            },
        )
    # WebM/VP8: every Chromium build plays it (H.264 depends on how it was built)
    clip = files.video(tmp_path, seconds=3, fmt="webm", size="480x270")
    video = await ready_upload(http, media.url, author, clip, filename="clip.webm")
    vid = video["media_id"]
    await http.post(
        f"{media.url}/galleries/{gid}/items",
        headers=auth(author),
        json={"media_id": vid, "caption": "Turning it on"},
    )

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "gallery.png"
    errors: list[str] = []
    requests: list[str] = []
    ranges: list[tuple[str, int]] = []
    poster_status: list[int] = []

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=browser_path, args=ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1100, "height": 800})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda q: requests.append(q.url))

            async def on_response(resp: Any) -> None:
                url = resp.url
                if url.endswith(f"/media/{vid}/video"):
                    rng = (await resp.request.all_headers()).get("range", "")
                    ranges.append((rng, resp.status))
                elif url.endswith(f"/media/{vid}/poster"):
                    poster_status.append(resp.status)

            page.on("response", on_response)
            await page.goto(f"{media.url}/galleries/{gid}/view", wait_until="load")
            # every image decoded (lazy ones are in the viewport: they load too)
            decoded = await page.evaluate(
                """async () => {
                  const imgs = [...document.images];
                  await Promise.all(imgs.map(i => i.decode()));
                  return imgs.map(i => [i.naturalWidth, i.currentSrc, i.alt]);
                }"""
            )
            poster = await page.evaluate(
                """async () => {
                  const v = document.querySelector('video');
                  const img = new Image(); img.src = v.poster; await img.decode();
                  return [v.poster, img.naturalWidth, v.controls];
                }"""
            )
            await until(page, "document.querySelector('video').readyState >= 1")
            duration = await page.evaluate("document.querySelector('video').duration")
            # seek: the browser asks for a range of the file
            await page.evaluate("document.querySelector('video').currentTime = 2")
            await until(page, "!document.querySelector('video').seeking")
            await page.screenshot(path=str(shot))
        finally:
            await browser.close()

    assert errors == [], errors
    assert all(u.startswith(media.url) or u.startswith("data:") for u in requests), requests
    assert len(decoded) == 3 and all(w > 0 for w, _, _ in decoded), decoded
    assert [alt for _, _, alt in decoded] == [f"Step {i + 1}: {c}" for i, c in enumerate(captions)]
    assert all("/w" in src for _, src, _ in decoded), "srcset renditions are used"
    assert poster[0].endswith(f"/media/{vid}/poster") and poster[1] == 480 and poster[2] is True
    assert poster_status and poster_status[0] == 200
    assert 2.5 < duration < 3.5
    assert any(rng.startswith("bytes=") and status == 206 for rng, status in ranges), ranges
    assert shot.stat().st_size > 20_000
