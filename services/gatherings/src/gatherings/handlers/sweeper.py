"""Background work of every replica: due reminders and giveaways past their close.

The escalation sweeper's discipline (services/forum handlers/escalation.py): find the due
documents by an indexed field, then claim each by ONE version-guarded update that also
records the events in the document's outbox. A replica that loses the race re-runs the
command on the winner's state and finds nothing due; a replica killed before its write has
claimed nothing, one killed after it has left the events in the outbox for any relay. So
each reminder is emitted exactly once across restarts and replicas.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable

from communitykit.telemetry import untraced

from ..adapters.records import Needs
from ..adapters.stores import Stores
from .common import now

log = logging.getLogger(__name__)

#: who claimed a reminder (recorded with it: which replica sent it)
INSTANCE = f"{socket.gethostname()}:{os.getpid()}"


async def send_due_reminders(stores: Stores, batch: int = 100) -> int:
    """Claim every due reminder → GatheringReminderDue per member going. Returns how many
    events were recorded."""
    at = now()
    with untraced():
        due = await (
            stores.db.gatherings.find({"next_reminder_at": {"$lte": at}}, {"_id": 1})
            .sort([("next_reminder_at", 1)])
            .limit(batch)
            .to_list(None)
        )
    sent = 0
    for d in due:
        saved = await stores.gatherings.change(
            d["_id"],
            lambda g: g.due_reminders(at, INSTANCE),
            # the going members of the due occurrences, read after the claim's load
            prepare=stores.prepare(Needs(at=at, due_going=True)),
        )
        sent += len(saved.events)
    return sent


async def close_due_giveaways(stores: Stores, batch: int = 100) -> int:
    """Close every giveaway past ``closes_at`` → GiveawayClosed (fixes the entrant hash)."""
    at = now()
    with untraced():
        due = await (
            stores.db.giveaways.find({"closed_at": None, "closes_at": {"$lte": at}}, {"_id": 1})
            .limit(batch)
            .to_list(None)
        )
    closed = 0
    for d in due:
        saved = await stores.giveaways.change(d["_id"], lambda g: g.close(at))
        closed += len(saved.events)
    return closed


async def sweep_loop(stores: Stores, every_seconds: float, notify: Callable[[], None]) -> None:
    """Runs on every replica until cancelled."""
    while True:
        try:
            if await send_due_reminders(stores) + await close_due_giveaways(stores):
                notify()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("gatherings sweep failed; will retry", exc_info=True)
        await asyncio.sleep(every_seconds)
