"""``make demo``'s media scene against the real media and forum services: members' photos
and a staff clip are rendered, held uploads approved, galleries per product filled and
voted, and a forum post shows the photos by id; the simulator counts no error."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from tools.demo import media as scene
from tools.demo.plan import community
from tools.demo.sim import Simulator, Urls

from ...conftest import JWT_SECRET, ServiceProcess, from_end, service_env
from ...servers import Servers

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


@pytest.fixture(scope="module")
def forum(servers: Servers, media: ServiceProcess) -> Iterator[ServiceProcess]:
    p = ServiceProcess("forum", service_env(servers, "forum", suffix="md"))
    from_end(servers, p)
    p.start()
    try:
        yield p
    finally:
        p.stop()


async def test_the_demo_fills_galleries_per_product(
    forum: ServiceProcess, media: ServiceProcess, http: httpx.AsyncClient
) -> None:
    users = community(12, f"dm{uuid.uuid4().hex[:4]}-")
    sim = Simulator(Urls(forum=forum.url, media=media.url), users, JWT_SECRET)
    try:
        out = await scene.run(sim, users, seed=3, products=2)
    finally:
        await sim.close()
    assert sim.tally.total_errors == 0, (sim.tally.errors, sim.tally.error_samples)
    assert out["verified"] == "yes", out
    assert out["ready"] == out["uploads"] >= 4 and out["approved"] == 4, out
    assert out["galleries"] == 2 and out["helpful votes"] > 0, out
    # the forum post shows the photos; the product's gallery page renders them
    thread = (await http.get(f"{forum.url}/threads/{out['forum post']}")).json()
    assert thread["kind"] == "media" and thread["posts"][0]["media_ids"]
    listed = (await http.get(f"{media.url}/galleries", params={"tag": "setup"})).json()["items"]
    page = await http.get(f"{media.url}/galleries/{listed[0]['gallery_id']}/view")
    assert page.status_code == 200 and "srcset" in page.text
