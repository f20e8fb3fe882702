"""``make demo``'s gathering against the real service: members RSVP past the seats, some
cancel, ask and vote, the guest answers, everyone going checks in and enters; staff draw;
the demo verifies the draw from the public proof. Zero unexpected errors."""

from __future__ import annotations

import pytest

from tools.demo import gathering
from tools.demo.plan import community
from tools.demo.sim import Simulator, Urls

from ...conftest import JWT_SECRET, ServiceProcess
from .conftest import uid

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_the_demo_gathering(gatherings: ServiceProcess) -> None:
    assert await gathering.reachable(gatherings.url)
    users = community(30, uid("demo") + "-")
    sim = Simulator(Urls(gatherings=gatherings.url), users, JWT_SECRET)
    try:
        scene = await gathering.run(sim, users, seed=7)
    finally:
        await sim.close()
    assert sim.tally.total_errors == 0, sim.tally.error_samples
    assert scene["verified"] == "yes", scene
    assert scene["seats_taken"] == gathering.SEATS and scene["waitlisted"] == 5
    assert scene["promoted"] == 2 and scene["answered"] == 3
    assert scene["checked_in"] == gathering.SEATS and len(scene["winners"]) == 2
    assert not await gathering.reachable("http://127.0.0.1:9")
