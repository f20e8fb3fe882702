"""``make demo`` against the real services: a short run produces traffic of every kind
with zero unexpected errors, and the projections downstream see it.

The five services run as real processes on free ports (``running_stack``: their own
databases and consumer groups, starting at the end of the shared topics), on the real
broker and store; the simulator only speaks HTTP to them, exactly as ``make demo`` does.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tools.demo.__main__ import main as demo_main
from tools.demo.plan import community, make_plan
from tools.demo.sim import Simulator, Urls

from ...conftest import JWT_SECRET, RUN_ID, ServiceProcess, eventually, running_stack
from ...servers import ROOT, Servers

pytestmark = pytest.mark.integration
live = pytest.mark.asyncio(loop_scope="session")

NAMES = ("forum", "ideas", "reputation", "analytics", "search", "notifications")


@pytest.fixture(scope="module")
def services(
    servers: Servers, monkeypatch_module: pytest.MonkeyPatch
) -> Iterator[dict[str, ServiceProcess]]:
    suffix = f"d{uuid.uuid4().hex[:6]}"
    index = ROOT / ".run" / "test" / f"search-{RUN_ID}-{suffix}"
    # the search service's index directory and start position are its own (see search tests)
    monkeypatch_module.setenv("SEARCH_INDEX_PATH", str(index))
    monkeypatch_module.setenv("SEARCH_START_FROM", "latest")
    # the influence index is recomputed on a schedule (default 5 min): every 2 s here
    monkeypatch_module.setenv("ANALYTICS_INFLUENCE_INTERVAL_SECONDS", "2")
    try:
        with running_stack(servers, suffix, names=NAMES) as procs:
            yield procs
    finally:
        shutil.rmtree(index, ignore_errors=True)


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def urls_of(procs: dict[str, ServiceProcess]) -> Urls:
    return Urls(**{n: procs[n].url for n in NAMES})


def test_plan_is_a_function_of_the_seed() -> None:
    users = community(40, "p-")
    a, b = make_plan(3, 300, users), make_plan(3, 300, users)
    assert [(s.user, s.action, s.args, s.needs) for s in a] == [
        (s.user, s.action, s.args, s.needs) for s in b
    ]
    assert a != make_plan(4, 300, users)
    kinds = {s.action for s in a}
    assert {"thread", "reply", "vote", "accept", "idea", "idea_vote"} <= kinds
    # power law: the most active member acts far more often than the median member
    counts: dict[str, int] = {}
    for s in a:
        counts[s.user] = counts.get(s.user, 0) + 1
    ranked = sorted(counts.values(), reverse=True)
    assert ranked[0] >= 4 * ranked[len(ranked) // 2]


@live
async def test_demo_traffic_has_no_unexpected_errors(
    services: dict[str, ServiceProcess], http: httpx.AsyncClient
) -> None:
    urls = urls_of(services)
    prefix = f"demo{uuid.uuid4().hex[:4]}-"
    users = community(40, prefix)
    plan = make_plan(11, 360, users)
    sim = Simulator(urls, users, JWT_SECRET, concurrency=16)
    try:
        await sim.run(plan, rate=40)
    finally:
        await sim.close()
    t = sim.tally
    assert t.total_errors == 0, (t.errors, t.error_samples)
    assert not t.throttled, t.throttled
    for kind in ("ask", "answer", "vote", "accept", "submit idea", "vote idea", "similar"):
        assert t.ok[kind] > 0, (kind, t.ok)
    assert sum(t.ok.values()) >= 300

    # the traffic reached the projections: reputation ranks the demo's users, analytics
    # counts its questions
    async def ranked() -> list[dict[str, str]]:
        r = await http.get(f"{urls.reputation}/leaderboard", params={"limit": 5})
        items = r.json()["items"]
        return items if items and all(i["user_id"].startswith(prefix) for i in items) else []

    assert await eventually(ranked, timeout=60)

    async def counted() -> bool:
        r = await http.get(f"{urls.analytics}/overview")
        return r.status_code == 200 and "questions" in r.text

    assert await eventually(counted, timeout=60)

    # the influence index tells the demo's members apart (issue 26): the top ten of a
    # recompute made after the traffic have ten different scores
    done = datetime.now(UTC) + timedelta(seconds=5)  # the consumer's lag, generously

    async def top_ten() -> list[dict[str, Any]]:
        body = (await http.get(f"{urls.analytics}/influence", params={"limit": 10})).json()
        at = body["computed_at"]
        return body["items"] if at and datetime.fromisoformat(at) >= done else []

    top = await eventually(top_ten, timeout=90)
    assert len(top) == 10 and all(i["user_id"].startswith(prefix) for i in top), top
    assert len({i["score"] for i in top}) == 10, top


@live
async def test_cli_summary(
    services: dict[str, ServiceProcess],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The entry point itself: a few seconds of traffic, the closing summary, exit 0."""
    monkeypatch.setenv("COMMUNITY_JWT_SECRET", JWT_SECRET)
    args = ["--rate", "20", "--duration", "3", "--seed", "5", "--users", "30",
            "--prefix", f"cli{uuid.uuid4().hex[:4]}-"]  # fmt: skip
    for n in NAMES:
        args += [f"--{n}-url", services[n].url]
    assert await demo_main(args) == 0
    out = capsys.readouterr().out
    assert "requests by kind" in out and "errors: 0" in out
    assert "leaderboard: top 5" in out and f"{services['analytics'].url}/dashboard" in out
