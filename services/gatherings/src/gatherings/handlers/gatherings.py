"""Gatherings: schedule, read, list, edit, cancel, RSVP, check in, recap.

Every write is load → ask the ``Gathering`` → ONE version-guarded update with its events in
the document's outbox (communitykit.repository); RSVPs and check-ins go through the group
commit (adapters/combiner.py) because a popular gathering receives them all at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from communitykit.auth import Principal
from communitykit.idempotency import Created as Done
from communitykit.idempotency import Idempotency, replay
from communitykit.pagination import InvalidCursorError, binding, decode_cursor, encode_cursor

from ..adapters.documents import to_gathering
from ..adapters.stores import Stores
from ..domain.commands import CancelGathering, PostRecap, Rsvp, ScheduleGathering, UpdateGathering
from ..domain.errors import InvalidCommandError, NotAllowedError
from ..domain.gathering import Gathering
from ..views import CheckedIn, GatheringPage, GatheringView, RsvpView, gathering_view
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


async def get(stores: Stores, gathering_id: str, viewer: Principal | None) -> GatheringView:
    """GET /gatherings/{id}: by ``_id`` (seats, waitlist length, the caller's RSVP)."""
    g = await stores.gatherings.get(gathering_id)
    return gathering_view(g, now(), viewer.user_id if viewer else None)


async def update(
    stores: Stores, user: Principal, gathering_id: str, cmd: UpdateGathering
) -> GatheringView:
    """PATCH /gatherings/{id} (host, staff) → GatheringUpdated (+ promotions)."""
    at = now()
    saved = await stores.gatherings.change(gathering_id, lambda g: g.update(cmd, user, at))
    return gathering_view(saved.aggregate, at, user.user_id)


async def cancel(
    stores: Stores, user: Principal, gathering_id: str, cmd: CancelGathering
) -> GatheringView:
    """POST /gatherings/{id}/cancel (host, staff) → GatheringCancelled."""
    at = now()
    saved = await stores.gatherings.change(gathering_id, lambda g: g.cancel(user, cmd.reason, at))
    return gathering_view(saved.aggregate, at, user.user_id)


async def rsvp(stores: Stores, user: Principal, gathering_id: str, cmd: Rsvp) -> RsvpView:
    """PUT /gatherings/{id}/rsvp → RsvpChanged (+ RsvpChanged promoted and SeatOffered for
    the first waitlisted member when a seat is freed), in the gathering's guarded update."""
    at = now()
    g, _ = await stores.gathering_writes.submit(
        gathering_id, lambda g: g.rsvp(user.user_id, cmd.status, at)
    )
    m = g.member(user.user_id)
    return RsvpView(status=m.status if m else "none", position=g.position(user.user_id))


async def check_in(stores: Stores, user: Principal, gathering_id: str) -> CheckedIn:
    """POST /gatherings/{id}/check-in during the gathering's window → MemberCheckedIn."""
    at = now()
    opens = stores.settings.check_in_opens_seconds
    g, _ = await stores.gathering_writes.submit(
        gathering_id, lambda g: g.check_in(user.user_id, at, opens)
    )
    m = g.member(user.user_id)
    assert m is not None and m.checked_in_at is not None
    return CheckedIn(gathering_id=gathering_id, checked_in_at=m.checked_in_at)


async def recap(
    stores: Stores, user: Principal, gathering_id: str, cmd: PostRecap
) -> GatheringView:
    """PUT /gatherings/{id}/recap (host, staff, after the end) → GatheringUpdated (recap)."""
    at = now()
    saved = await stores.gatherings.change(
        gathering_id, lambda g: g.post_recap(user, cmd.body, cmd.takeaways, at)
    )
    return gathering_view(saved.aggregate, at, user.user_id)


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
    over the (group_id?, starts_at, _id) index; ``status`` narrows the time range (upcoming:
    starts after now) and filters what the range cannot say (live, past, cancelled)."""
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
    if status == "upcoming":
        rng["$gt"] = at if not start or at > start else start
        rng.pop("$gte", None)
    elif status in ("live", "past"):
        rng["$lte"] = min(end, at) if end else at
    bound = binding("gatherings", group_id, start, end, status)
    conditions: list[Doc] = []
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
    items: list[GatheringView] = []
    last: Gathering | None = None
    more = False
    rows = stores.db.gatherings.find(query, {"outbox": 0, "idem": 0, "members": 0}).sort(
        [("starts_at", 1), ("_id", 1)]
    )
    async for d in rows:
        g = to_gathering(d)
        if status is not None and g.phase(at) != status:
            last = g
            continue
        if len(items) == limit:
            more = True
            break
        items.append(gathering_view(g, at, None))
        last = g
    nxt = None
    if more and last is not None:
        nxt = encode_cursor((last.starts_at, last.gathering_id), bound_to=bound)
    return GatheringPage(items=items, next_cursor=nxt)
