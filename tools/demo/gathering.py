"""The demo's gathering: staff schedule an online gathering with a special guest; members
RSVP (more than there are seats: a waitlist), some cancel (the first waitlisted get their
seats), ask the guest questions and vote for them, the guest answers, everyone going checks
in and enters a giveaway; staff draw it, and the draw is verified here with the service's
own standard-library verifier (``python -m gatherings.verify``), from its public proof.

Who does what is a function of the seed; requests go through the simulator (counted in its
table like every other request).
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from gatherings import verify

from .plan import User
from .sim import Simulator

SEATS = 8
QUESTIONS = (
    "What is on the roadmap for the mobile app?",
    "Will the router get WPA3 on older models?",
    "How do you decide which ideas get planned?",
    "Any plans for an offline mode?",
    "What was the hardest bug you fixed this year?",
)


async def reachable(url: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=3) as http:
            return (await http.get(f"{url}/healthz")).is_success
    except httpx.HTTPError:
        return False


async def run(sim: Simulator, users: list[User], seed: int) -> dict[str, Any]:
    """One gathering from scheduling to a verified draw; returns what the summary shows."""
    rng = random.Random(seed)
    g = sim.urls.gatherings
    staff = next(u.name for u in users if u.kind == "staff")
    members = [u.name for u in users if u.kind in ("champion", "member", "lurker")]
    guest, *crowd = rng.sample(members, min(len(members), SEATS + 6))
    start = datetime.now(UTC) + timedelta(minutes=5)  # check-in opens 15 minutes before
    r = await sim.call(
        "schedule gathering",
        "POST",
        f"{g}/gatherings",
        staff,
        json={
            "title": "Ask the product lead",
            "description": "Live Q&A on the roadmap, with a giveaway for everyone who shows up.",
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=1)).isoformat(),
            "timezone": "Europe/Paris",
            "capacity": SEATS,
            "guests": [{"user_id": guest, "display_name": guest.title(), "bio": "Product lead"}],
            "join_url": "https://meet.example.com/ask-the-product-lead",
        },
    )
    if r is None:
        return {"error": "could not schedule the gathering"}
    gid = r.json()["gathering_id"]
    base = f"{g}/gatherings/{gid}"

    async def rsvp(user: str, status: str) -> dict[str, Any] | None:
        resp = await sim.call("rsvp", "PUT", f"{base}/rsvp", user, json={"status": status})
        return resp.json() if resp is not None else None

    answers = await asyncio.gather(*(rsvp(u, "going") for u in crowd))
    waitlisted = [
        u for u, a in zip(crowd, answers, strict=True) if a and a["status"] == "waitlisted"
    ]
    going = [u for u, a in zip(crowd, answers, strict=True) if a and a["status"] == "going"]
    leaving = rng.sample(going, min(2, len(going)))
    for u in leaving:
        await rsvp(u, "not_going")
    view = await sim.call("read gathering", "GET", base)
    seats = view.json()["seats_taken"] if view else None

    asked: list[tuple[str, str]] = []  # (question id, asker)
    askers = rng.sample(crowd, min(len(QUESTIONS), len(crowd)))
    for u, text in zip(askers, QUESTIONS, strict=False):
        resp = await sim.call("ask guest", "POST", f"{base}/questions", u, json={"body": text})
        if resp is not None:
            asked.append((resp.json()["question_id"], u))
    for u in crowd:
        others = [qid for qid, author in asked if author != u]  # never one's own question
        for qid in rng.sample(others, min(2, len(others))):
            await sim.call(
                "vote question", "PUT", f"{base}/questions/{qid}/vote", u, json={"value": 1}
            )
    top = await sim.call("list questions", "GET", f"{base}/questions", params={"sort": "top"})
    answered = 0
    for q in (top.json()["items"] if top else [])[:3]:
        resp = await sim.call(
            "guest answers",
            "POST",
            f"{base}/questions/{q['question_id']}/answer",
            guest,
            json={"body": "Great question: here is what we are doing about it."},
        )
        answered += resp is not None

    # who holds a seat now, as the gathering says (promotions included)
    mine = await asyncio.gather(*(sim.call("read gathering", "GET", base, u) for u in crowd))
    now_going = [
        u
        for u, v in zip(crowd, mine, strict=True)
        if v is not None and v.json()["my_rsvp"]["status"] == "going"
    ]
    checked = 0
    for u in now_going:
        checked += await sim.call("check in", "POST", f"{base}/check-in", u) is not None

    closes = datetime.now(UTC) + timedelta(seconds=10)
    resp = await sim.call(
        "open giveaway",
        "POST",
        f"{base}/giveaways",
        staff,
        json={
            "prize": "A year of premium support",
            "winners": 2,
            "closes_at": closes.isoformat(),
            "eligibility": {"rsvp_required": True, "checked_in_required": True},
        },
    )
    if resp is None:
        return {"gathering_id": gid, "error": "could not open the giveaway"}
    gv = resp.json()["giveaway_id"]
    await asyncio.gather(
        *(sim.call("enter giveaway", "PUT", f"{base}/giveaways/{gv}/entry", u) for u in now_going)
    )
    await asyncio.sleep(max(0.0, (closes - datetime.now(UTC)).total_seconds()) + 0.5)
    drawn = await sim.call("draw giveaway", "POST", f"{base}/giveaways/{gv}/draw", staff)
    proof = await sim.call("giveaway proof", "GET", f"{base}/giveaways/{gv}/proof")
    verified: str
    try:
        winners = verify.verify(proof.json()) if proof else None
        verified = "yes" if drawn and winners == drawn.json()["winners"] else "no"
    except verify.ProofError as e:
        winners, verified = None, f"FAILED: {e}"
    return {
        "gathering_id": gid,
        "guest": guest,
        "seats_taken": seats,
        "waitlisted": len(waitlisted),
        "promoted": min(len(leaving), len(waitlisted)),
        "questions": len(asked),
        "answered": answered,
        "checked_in": checked,
        "winners": winners,
        "verified": verified,
    }
