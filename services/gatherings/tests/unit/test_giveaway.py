"""Giveaways: commitments, the deterministic draw with rejection sampling, the verifier."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from communitykit.auth import Principal
from gatherings import verify
from gatherings.domain.commands import OpenGiveaway, ScheduleGathering
from gatherings.domain.errors import GiveawayStateError, NotEligibleError
from gatherings.domain.gathering import Gathering
from gatherings.domain.giveaway import Giveaway

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
STAFF = Principal("staff-1", roles=frozenset({"staff"}))


def gathering() -> Gathering:
    cmd = ScheduleGathering.model_validate(
        {
            "title": "t",
            "description": "d",
            "starts_at": (NOW + timedelta(days=1)).isoformat(),
            "ends_at": (NOW + timedelta(days=1, hours=1)).isoformat(),
            "timezone": "UTC",
        }
    )
    return Gathering.schedule(cmd, STAFF, NOW, "g1", [])[0]


def giveaway(winners: int = 2, **elig: object) -> Giveaway:
    cmd = OpenGiveaway.model_validate(
        {
            "prize": "T-shirt",
            "winners": winners,
            "closes_at": (NOW + timedelta(hours=1)).isoformat(),
            "eligibility": elig,
        }
    )
    g, [opened] = Giveaway.open(cmd, gathering(), STAFF, NOW, "gv1", "s" * 64)
    assert opened.data.seed_commitment == verify.seed_commitment("s" * 64)
    return g


def test_draw_is_deterministic_and_uniform() -> None:
    pool = [f"u{i}" for i in range(7)]
    assert verify.draw("seed", pool, 3) == verify.draw("seed", list(reversed(pool)), 3)
    counts: Counter[str] = Counter()
    for i in range(7000):
        counts[verify.draw(f"seed{i}", pool, 1)[0]] += 1
    assert all(800 < c < 1200 for c in counts.values()), counts


def test_rejection_sampling_rejects_the_biased_tail(monkeypatch: pytest.MonkeyPatch) -> None:
    values = iter([2**64 - 1, 5])  # the first is >= the largest multiple of 3: rejected
    monkeypatch.setattr(verify, "_stream", lambda *a: values)
    assert verify.draw("s", ["a", "b", "c"], 1) == [["a", "b", "c"][5 % 3]]


def test_entries_close_draw_proof_and_redraw() -> None:
    g = giveaway(winners=2)
    for u in ["u3", "u1", "u2", "u5", "u4"]:
        g.enter(u, NOW)
    assert g.enter("u1", NOW) == []
    with pytest.raises(GiveawayStateError):
        g.draw(STAFF, NOW)  # before close: 409
    at = NOW + timedelta(hours=1)
    with pytest.raises(GiveawayStateError):
        g.enter("u9", at)
    events = g.draw(STAFF, at)
    assert [e.type.split(".")[2] for e in events] == ["GiveawayClosed", "GiveawayDrawn"]
    assert events[0].data.entrants_hash == verify.entrants_hash(["u1", "u2", "u3", "u4", "u5"])
    proof = g.proof()
    assert verify.verify(proof) == events[1].data.winners
    loser = events[1].data.winners[0]
    [redrawn] = g.redraw(STAFF, [loser], at)
    assert redrawn.data.round == 2 and redrawn.data.replaced == [loser]
    assert not set(redrawn.data.winners) & set(events[1].data.winners)
    assert verify.verify(g.proof()) == g.current_winners()


def test_a_changed_entrant_list_or_seed_fails(tmp_path: Path) -> None:
    g = giveaway(winners=1)
    for u in ["a", "b", "c"]:
        g.enter(u, NOW)
    g.draw(STAFF, NOW + timedelta(hours=2))
    proof = g.proof()
    bad_entrants = {**proof, "entrants": ["a", "b", "d"]}
    bad_seed = {**proof, "seed": "t" * 64}
    for bad in (bad_entrants, bad_seed):
        with pytest.raises(verify.ProofError):
            verify.verify(bad)
    path = tmp_path / "proof.json"
    path.write_text(json.dumps(proof))
    ok = subprocess.run([sys.executable, "-m", "gatherings.verify", str(path)], capture_output=True)
    assert ok.returncode == 0, ok.stdout
    path.write_text(json.dumps(bad_seed))
    bad = subprocess.run(
        [sys.executable, "-m", "gatherings.verify", str(path)], capture_output=True
    )
    assert bad.returncode == 1 and b"FAILED" in bad.stdout


def test_eligibility_says_why() -> None:
    g = giveaway(min_level=2, rsvp_required=True)
    with pytest.raises(NotEligibleError, match="staff"):
        g.check_eligible(STAFF, 4, "going", False)
    with pytest.raises(NotEligibleError, match="level 2"):
        g.check_eligible(Principal("m"), 1, "going", False)
    with pytest.raises(NotEligibleError, match="going"):
        g.check_eligible(Principal("m"), 2, "interested", False)
    g.check_eligible(Principal("m"), 2, "going", False)


def test_the_golden_sample_draw_verifies() -> None:
    """The GiveawayDrawn samples are real draws: the verifier recomputes them."""
    root = Path(__file__).resolve().parents[4] / "shared" / "schemas" / "samples"
    d1 = json.loads((root / "community.gatherings.GiveawayDrawn.v1.json").read_text())["data"]
    d2 = json.loads((root / "community.gatherings.GiveawayDrawn.v1.redraw.json").read_text())[
        "data"
    ]
    closed = json.loads((root / "community.gatherings.GiveawayClosed.v1.json").read_text())["data"]
    entrants = ["u_2b7f9d1c44e0", "u_5e0a3c8b7d21", "u_8c1d5a7e09f4"]
    proof = {
        "algorithm": d1["algorithm"],
        "seed": d1["seed"],
        "seed_commitment": d1["seed_commitment"],
        "entrants": entrants,
        "entrants_hash": closed["entrants_hash"],
        "winner_count": 1,
        "draws": [d1, d2],
    }
    assert verify.verify(proof) == d2["winners"]
