"""Giveaways anyone can verify: the winners recomputed by ``python -m gatherings.verify`` from
GET .../proof, and independently from the gatherings.events topic alone, equal the announced
winners; a changed entrant list or seed fails; a re-draw is a new recorded round; eligibility
uses the level learned from reputation.events."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from schemas import new_event, topics
from schemas.reputation import LevelChanged

from ...conftest import ServiceProcess, auth, eventually
from ...recording import Recorder
from ...servers import Servers
from .conftest import STAFF, at, publish, rsvp, schedule, uid

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


def run_verifier(
    tmp_path: Path, proof: dict[str, Any], name: str
) -> subprocess.CompletedProcess[str]:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(proof))
    return subprocess.run(
        [sys.executable, "-m", "gatherings.verify", str(path)], capture_output=True, text=True
    )


def proof_from_topic(recorder: Recorder, gid: str, giveaway_id: str) -> dict[str, Any]:
    """Everything the verifier needs, from gatherings.events alone."""
    mine = [e for e in recorder.of(gid) if getattr(e.data, "giveaway_id", None) == giveaway_id]
    [opened] = [e.data for e in mine if e.type.endswith("GiveawayOpened.v1")]
    [closed] = [e.data for e in mine if e.type.endswith("GiveawayClosed.v1")]
    entrants = sorted({e.data.user_id for e in mine if e.type.endswith("GiveawayEntered.v1")})
    draws = [e.data for e in mine if e.type.endswith("GiveawayDrawn.v1")]
    assert len(entrants) == closed.entrant_count
    return {
        "algorithm": draws[0].algorithm,
        "seed": draws[0].seed,
        "seed_commitment": opened.seed_commitment,
        "winner_count": opened.winners,
        "entrants": entrants,
        "entrants_hash": closed.entrants_hash,
        "draws": [
            {
                "round": d.round,
                "entrants_hash": d.entrants_hash,
                "winners": d.winners,
                "replaced": d.replaced,
            }
            for d in draws
        ],
    }


async def test_a_verifiable_drawing(
    gatherings: ServiceProcess,
    servers: Servers,
    http: httpx.AsyncClient,
    recorder: Recorder,
    gdb: Any,
    tmp_path: Path,
) -> None:
    url = gatherings.url
    gid = await schedule(http, url)
    members = [uid(f"e{i}") for i in range(6)]
    low, absent, support = uid("low"), uid("absent"), uid("support")
    for m in [*members, low, support]:
        assert (await rsvp(http, url, gid, m)).status_code == 200
    # levels come from reputation.events, projected by this service as the forum does
    await publish(
        servers.kafka,
        topics.REPUTATION_EVENTS,
        [
            new_event(LevelChanged(user_id=m, from_level=0, to_level=2), subject=m)
            for m in [*members, absent, support]
        ],
    )

    async def projected() -> bool:
        return await gdb.levels.count_documents({"_id": {"$in": members}, "level": 2}) == len(
            members
        )

    await eventually(projected)

    closes_at = datetime.now(UTC) + timedelta(seconds=15)
    r = await http.post(
        f"{url}/gatherings/{gid}/giveaways",
        headers=auth(STAFF, "staff"),
        json={
            "prize": "Conference ticket",
            "winners": 2,
            "closes_at": closes_at.isoformat(),
            "eligibility": {"min_level": 1, "rsvp_required": True},
        },
    )
    assert r.status_code == 201, r.text
    giveaway_id, commitment = r.json()["giveaway_id"], r.json()["seed_commitment"]
    base = f"{url}/gatherings/{gid}/giveaways/{giveaway_id}"
    r = await http.post(
        f"{url}/gatherings/{gid}/giveaways",
        headers=auth(uid("m")),
        json={"prize": "x", "winners": 1, "closes_at": at(hours=1)},
    )
    assert r.status_code == 403  # staff only

    entries = await asyncio.gather(*(http.put(f"{base}/entry", headers=auth(m)) for m in members))
    assert [e.status_code for e in entries] == [200] * len(members)
    assert (
        await http.put(f"{base}/entry", headers=auth(members[0]))
    ).status_code == 200  # harmless
    for who, roles, why in [
        (low, ("member",), "level"),
        (absent, ("member",), "going"),
        (support, ("member", "support"), "support"),
    ]:
        r = await http.put(f"{base}/entry", headers=auth(who, *roles))
        assert r.status_code == 403 and why in r.json()["detail"], r.text

    r = await http.post(f"{base}/draw", headers=auth(STAFF, "staff"))
    assert r.status_code == 409  # a draw before close
    early = (await http.get(f"{base}/proof")).json()
    assert (
        early["seed"] is None
        and early["winners"] is None
        and early["seed_commitment"] == commitment
    )

    view = (await http.get(base, headers=auth(members[1]))).json()
    assert view["entrant_count"] == len(members) and view["entered"] is True
    await asyncio.sleep((closes_at - datetime.now(UTC)).total_seconds() + 0.5)
    r = await http.put(f"{base}/entry", headers=auth(uid("late")))
    assert r.status_code in (403, 409)
    r = await http.post(f"{base}/draw", headers=auth(STAFF, "staff"))
    assert r.status_code == 200, r.text
    winners = r.json()["winners"]
    assert len(winners) == 2 and set(winners) <= set(members)
    assert (await http.post(f"{base}/draw", headers=auth(STAFF, "staff"))).status_code == 409

    proof = (await http.get(f"{base}/proof")).json()
    assert proof["entrants"] == sorted(members) and proof["winners"] == winners
    ok = run_verifier(tmp_path, proof, "proof")
    assert ok.returncode == 0 and str(winners) in ok.stdout, ok.stdout
    swapped = {**proof, "entrants": sorted([*members[1:], uid("intruder")])}
    assert run_verifier(tmp_path, swapped, "entrants").returncode == 1
    reseeded = {**proof, "seed": "0" * 64}
    assert run_verifier(tmp_path, reseeded, "seed").returncode == 1

    await recorder.wait(gid, "GiveawayDrawn")
    from_topic = proof_from_topic(recorder, gid, giveaway_id)
    out = run_verifier(tmp_path, from_topic, "topic")
    assert out.returncode == 0 and str(winners) in out.stdout, out.stdout

    # a winner who does not claim: a new recorded draw over the remaining entrants
    r = await http.post(
        f"{base}/redraw", headers=auth(STAFF, "staff"), json={"unclaimed": [winners[0]]}
    )
    assert r.status_code == 200, r.text
    now_winners = r.json()["winners"]
    assert winners[0] not in now_winners and winners[1] in now_winners and len(now_winners) == 2
    proof = (await http.get(f"{base}/proof")).json()
    assert [d["round"] for d in proof["draws"]] == [1, 2] and proof["winners"] == now_winners
    assert run_verifier(tmp_path, proof, "redraw").returncode == 0
    await recorder.wait(gid, "GiveawayDrawn", 2)
    assert (
        run_verifier(tmp_path, proof_from_topic(recorder, gid, giveaway_id), "topic2").returncode
        == 0
    )
    r = await http.post(
        f"{base}/redraw", headers=auth(STAFF, "staff"), json={"unclaimed": [uid("nobody")]}
    )
    assert r.status_code == 422 and r.json()["field"] == "unclaimed"
    assert recorder.errors_of(gid) == []
