"""Giveaways: open (staff), enter (members, eligibility checked), close (sweeper or draw),
draw and re-draw (staff), proof (anyone). One ``giveaways`` document each, its events in its
outbox; entries of one giveaway that arrive together share one guarded write."""

from __future__ import annotations

from communitykit.auth import Principal
from communitykit.idempotency import Created as Done
from communitykit.idempotency import Idempotency, replay

from ..adapters.documents import to_giveaway
from ..adapters.stores import Stores
from ..domain.commands import OpenGiveaway, Redraw
from ..domain.errors import GiveawayNotFoundError
from ..domain.giveaway import Giveaway, new_seed
from ..views import Drawn, Entry, GiveawayView, Proof, giveaway_view, proof_view
from .common import new_id, now


async def open_giveaway(
    stores: Stores, user: Principal, gathering_id: str, cmd: OpenGiveaway, key: str | None
) -> Done:
    """POST /gatherings/{id}/giveaways (staff) → GiveawayOpened (the seed's commitment)."""
    idem = Idempotency.of("gatherings/giveaway", user.user_id, key, {"g": gathering_id, "c": cmd})
    if (done := await replay(stores.db.giveaways, idem)) is not None:
        return done
    g = await stores.gatherings.get(gathering_id)
    gid = idem.id() if idem else new_id("gvw")
    giveaway, events = Giveaway.open(cmd, g, user, now(), gid, new_seed())
    body = {"giveaway_id": gid, "seed_commitment": giveaway.seed_commitment}
    return await stores.giveaways.add(gid, giveaway, events, idem=idem, body=body)


async def _giveaway(stores: Stores, gathering_id: str, giveaway_id: str) -> Giveaway:
    g = await stores.giveaways.get(giveaway_id)
    if g.gathering_id != gathering_id:
        raise GiveawayNotFoundError(f"no giveaway {giveaway_id!r} in this gathering")
    return g


async def get(
    stores: Stores, gathering_id: str, giveaway_id: str, viewer: Principal | None
) -> GiveawayView:
    g = await _giveaway(stores, gathering_id, giveaway_id)
    return giveaway_view(g, viewer.user_id if viewer else None)


async def enter(stores: Stores, user: Principal, gathering_id: str, giveaway_id: str) -> Entry:
    """PUT .../giveaways/{gid}/entry → GiveawayEntered; an ineligible member gets 403 saying
    why (level from reputation.events, RSVP and check-in from the gathering)."""
    giveaway = await _giveaway(stores, gathering_id, giveaway_id)
    gathering = await stores.gatherings.get(gathering_id)
    # the member's RSVP records of every occurrence (read after the gathering document)
    states = (await stores.records.states(gathering, user.user_id)).values()
    going = any(m.status == "going" for m in states)
    level = await stores.db.level_of(user.user_id) if giveaway.min_level else 0
    giveaway.check_eligible(
        user,
        level,
        "going" if going else "none",
        any(m.checked_in_at is not None for m in states),
    )
    at = now()
    await stores.giveaway_writes.submit(giveaway_id, lambda g: g.enter(user.user_id, at))
    return Entry(giveaway_id=giveaway_id, entered=True)


async def draw(stores: Stores, user: Principal, gathering_id: str, giveaway_id: str) -> Drawn:
    """POST .../giveaways/{gid}/draw (staff, after closes_at) → [GiveawayClosed] +
    GiveawayDrawn, in one guarded update."""
    await _giveaway(stores, gathering_id, giveaway_id)
    at = now()
    saved = await stores.giveaways.change(giveaway_id, lambda g: g.draw(user, at))
    d = saved.aggregate.draws[-1]
    return Drawn(giveaway_id=giveaway_id, round=d["round"], winners=d["winners"])


async def redraw(
    stores: Stores, user: Principal, gathering_id: str, giveaway_id: str, cmd: Redraw
) -> Drawn:
    """POST .../giveaways/{gid}/redraw (staff) → a new recorded GiveawayDrawn round."""
    await _giveaway(stores, gathering_id, giveaway_id)
    at = now()
    saved = await stores.giveaways.change(
        giveaway_id, lambda g: g.redraw(user, list(cmd.unclaimed), at)
    )
    d = saved.aggregate.draws[-1]
    return Drawn(
        giveaway_id=giveaway_id, round=d["round"], winners=saved.aggregate.current_winners()
    )


async def proof(stores: Stores, gathering_id: str, giveaway_id: str) -> Proof:
    """GET .../giveaways/{gid}/proof: everything a verifier needs (seed after the draw)."""
    return proof_view(await _giveaway(stores, gathering_id, giveaway_id))


async def list_for(stores: Stores, gathering_id: str) -> list[GiveawayView]:
    await stores.gatherings.get(gathering_id)
    docs = await (
        stores.db.giveaways.find({"gathering_id": gathering_id}, {"outbox": 0, "idem": 0})
        .sort([("created_at", 1)])
        .limit(100)
        .to_list(None)
    )
    return [giveaway_view(to_giveaway(d), None) for d in docs]
