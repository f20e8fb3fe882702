"""Gatherings: schedule, read, list, edit, cancel, RSVP, check in, recap.

Every write is load → (hand over the member records it reads: adapters/records.py) → ask
the ``Gathering`` → ONE version-guarded update of the gathering document with its events in
its outbox (communitykit.repository); RSVPs and check-ins go through the group commit
(adapters/combiner.py) because a popular gathering receives them all at once. The members'
own records follow from those events (projections/facts.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from communitykit.auth import Principal
from communitykit.idempotency import Created as Done
from communitykit.idempotency import Idempotency, replay
from communitykit.pagination import InvalidCursorError, binding, decode_cursor, encode_cursor
from schemas.gatherings import RsvpChanged

from ..adapters.documents import to_gathering
from ..adapters.records import Needs
from ..adapters.stores import Stores
from ..domain.commands import CancelGathering, PostRecap, Rsvp, ScheduleGathering, UpdateGathering
from ..domain.errors import InvalidCommandError, NotAllowedError
from ..domain.gathering import Gathering, occ_id
from ..views import CheckedIn, GatheringPage, GatheringView, MyRsvp, RsvpView, gathering_view
from .common import new_id, now

Doc = dict[str, Any]


async def schedule(
    stores: Stores, user: Principal, cmd: ScheduleGathering, key: str | None = None
) -> Done:
    """POST /gatherings (staff; a group's owner for the group's gathering) → a new
    ``gatherings`` document with GatheringScheduled in its outbox."""
    idem = Idempotency.of("gatherings/schedule", user.user_id, key, cmd)
    if (done := await replay(stores.db.gatherings, idem)) is not None:
        return done
    if cmd.group_id is not None and not user.has("staff"):
        owner = await stores.db.owner_of(cmd.group_id)
        if owner != user.user_id:
            raise NotAllowedError(
                "only staff or the group's owner schedule a group's gathering", field="group_id"
            )
    gid = idem.id() if idem else new_id("gth")
    g, events = Gathering.schedule(
        cmd, user, now(), gid, list(stores.settings.reminder_offsets_seconds)
    )
    return await stores.gatherings.add(gid, g, events, idem=idem, body={"gathering_id": gid})


async def _view(
    stores: Stores, g: Gathering, at: datetime, viewer: str | None, occurrence: datetime | None
) -> GatheringView:
    start = g.occurrence(occurrence, at) if occurrence else g.current_occurrence(at)
    mine = None
    if viewer is not None:
        occ = occ_id(start)
        m = (await stores.records.states(g, viewer, {occ: start}))[occ]
        mine = MyRsvp(
            status=m.status,
            position=await stores.records.position(g, m),
            checked_in=m.checked_in_at is not None,
        )
    return gathering_view(g, at, start, mine)


async def get(
    stores: Stores,
    gathering_id: str,
    viewer: Principal | None,
    occurrence: datetime | None = None,
) -> GatheringView:
    """GET /gatherings/{id}[?occurrence=]: seats, waitlist length and the caller's RSVP of
    one occurrence (the gathering document first, then the caller's record)."""
    g = await stores.gatherings.get(gathering_id)
    return await _view(stores, g, now(), viewer.user_id if viewer else None, occurrence)


async def update(
    stores: Stores, user: Principal, gathering_id: str, cmd: UpdateGathering
) -> GatheringView:
    """PATCH /gatherings/{id} (host, staff) → GatheringUpdated (+ promotions: every
    occurrence's waitlist head is handed over, a raised capacity may promote many)."""
    at = now()
    saved = await stores.gatherings.change(
        gathering_id,
        lambda g: g.update(cmd, user, at),
        prepare=stores.prepare(Needs(at=at, all_heads="capacity" in cmd.model_fields_set)),
    )
    return await _view(stores, saved.aggregate, at, user.user_id, None)


async def cancel(
    stores: Stores, user: Principal, gathering_id: str, cmd: CancelGathering
) -> GatheringView:
    """POST /gatherings/{id}/cancel (host, staff) → GatheringCancelled (every holder's record
    is handed over: the event names them all)."""
    at = now()
    saved = await stores.gatherings.change(
        gathering_id,
        lambda g: g.cancel(user, cmd.reason, at),
        prepare=stores.prepare(Needs(at=at, holders=True)),
    )
    return await _view(stores, saved.aggregate, at, user.user_id, None)


async def rsvp(stores: Stores, user: Principal, gathering_id: str, cmd: Rsvp) -> RsvpView:
    """PUT /gatherings/{id}/rsvp → RsvpChanged (+ RsvpChanged promoted and SeatOffered for
    the first waitlisted member when a seat is freed), in the gathering's guarded update."""
    at = now()
    me = user.user_id
    g, events = await stores.gathering_writes.submit(
        gathering_id,
        lambda g: g.rsvp(me, cmd.status, at, cmd.occurrence),
        # only leaving a seat frees one (and may promote the first waitlisted member)
        Needs(members=[(me, cmd.occurrence)], at=at, frees=int(cmd.status != "going")),
    )
    start = g.occurrence(cmd.occurrence, at)
    mine = [
        e.data
        for e in events
        if isinstance(e.data, RsvpChanged) and e.data.user_id == me and not e.data.promoted
    ]
    if mine:  # the decision this write made (its position as decided)
        return RsvpView(status=mine[0].to_status, position=mine[0].position)
    # a repeat that changed nothing: the member's state as it stands
    m = g.state(me, occ_id(start))
    return RsvpView(status=m.status, position=await stores.records.position(g, m), occurrence=start)


async def check_in(stores: Stores, user: Principal, gathering_id: str) -> CheckedIn:
    """POST /gatherings/{id}/check-in during the gathering's window → MemberCheckedIn."""
    at = now()
    opens = stores.settings.check_in_opens_seconds
    me = user.user_id
    g, _ = await stores.gathering_writes.submit(
        gathering_id,
        lambda g: g.check_in(me, at, opens),
        Needs(at=at, checking_in=[me], opens_seconds=opens),
    )
    start = g.window(at, opens)
    assert start is not None
    m = g.state(me, occ_id(start))
    assert m.checked_in_at is not None
    return CheckedIn(gathering_id=gathering_id, checked_in_at=m.checked_in_at)


async def recap(
    stores: Stores, user: Principal, gathering_id: str, cmd: PostRecap
) -> GatheringView:
    """PUT /gatherings/{id}/recap (host, staff, after the end) → GatheringUpdated (recap)."""
    at = now()
    saved = await stores.gatherings.change(
        gathering_id, lambda g: g.post_recap(user, cmd.body, cmd.takeaways, at)
    )
    return await _view(stores, saved.aggregate, at, user.user_id, None)


async def list_gatherings(
    stores: Stores,
    *,
    start: datetime | None,
    end: datetime | None,
    group_id: str | None,
    status: str | None,
    limit: int,
    cursor: str | None,
    viewer: Principal | None,
) -> GatheringPage:
    """GET /gatherings: by start time (oldest first), keyset-paginated on (starts_at, _id)
    over the (group_id?, starts_at, _id) index. ``status`` is part of the store query, so a
    page is always ``limit`` matching gatherings: upcoming = scheduled and starting after
    now; live = scheduled, started, its last occurrence not over (``last_ends_at``); past =
    scheduled and its last occurrence over. Cancelled gatherings match no status."""
    at = now()
    if start and end and end < start:
        raise InvalidCommandError("to must not be before from", field="to")
    query: Doc = {}
    if group_id is not None:
        query["group_id"] = group_id
    rng: Doc = {}
    if start:
        rng["$gte"] = start
    if end:
        rng["$lte"] = end
    conditions: list[Doc] = []
    if status is not None:
        query["status"] = "scheduled"
    if status == "upcoming":
        rng["$gt"] = at if not start or at > start else start
        rng.pop("$gte", None)
    elif status in ("live", "past"):
        rng["$lte"] = min(end, at) if end else at
        conditions.append({"last_ends_at": {"$gt": at} if status == "live" else {"$lte": at}})
    bound = binding("gatherings", group_id, start, end, status)
    if rng:
        conditions.append({"starts_at": rng})
    if cursor:
        last_start, last_id = decode_cursor(cursor, bound_to=bound)
        if not isinstance(last_start, datetime) or not isinstance(last_id, str):
            raise InvalidCursorError("malformed cursor")
        conditions.append(
            {
                "$or": [
                    {"starts_at": {"$gt": last_start}},
                    {"starts_at": last_start, "_id": {"$gt": last_id}},
                ]
            }
        )
    if conditions:
        query["$and"] = conditions
    rows = await (
        stores.db.gatherings.find(query, {"outbox": 0, "idem": 0, "pending": 0})
        .sort([("starts_at", 1), ("_id", 1)])
        .limit(limit + 1)
        .to_list(None)
    )
    found = [to_gathering(d) for d in rows]
    items = [gathering_view(g, at) for g in found[:limit]]
    nxt = None
    if len(found) > limit:
        last = found[limit - 1]
        nxt = encode_cursor((last.starts_at, last.gathering_id), bound_to=bound)
    return GatheringPage(items=items, next_cursor=nxt)
