"""The email sender: an outbox for mail, exactly once in effect.

A decision never sends: it records the intent in the notification document
(``email: "pending"``), and a held notification joins its member's digest document of the
period. This sender, on every replica, claims one intent at a time with an atomic
``find_one_and_update`` (pending -> sending, with a lease and its owner), sends it, then marks
it ``sent`` with ``NotificationDelivered``/``DigestSent`` in the same document's outbox. So:

* a redelivered event or a replay from offset 0 finds the notification already there
  (``$setOnInsert``): no second intent, no second mail;
* ``make rebuild`` replays into a fresh database and runs no sender: it never mails;
* two replicas never send the same intent: only one claim matches;
* a replica that dies between the SMTP send and "sent" leaves a lease that expires: the mail
  is sent again (at-least-once at the SMTP boundary, the one window no protocol closes) with
  the same Message-ID, so a relay or client can drop the duplicate.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ReturnDocument

from communitykit.outbox import outbox_ops
from schemas import new_event, topics
from schemas.notifications import DigestSent, NotificationDelivered

from .adapters.email import Mailer
from .adapters.mongo import NotificationsDb
from .domain import digest as digests
from .domain.classes import DIGEST
from .domain.preferences import Preferences

log = logging.getLogger(__name__)
Doc = dict[str, Any]


class Sender:
    def __init__(
        self,
        db: NotificationsDb,
        mailer: Mailer,
        *,
        email_domain: str = "",
        lease_seconds: float = 60.0,
        poll_seconds: float = 1.0,
    ) -> None:
        self.db = db
        self.mailer = mailer
        self.email_domain = email_domain
        self.lease = timedelta(seconds=lease_seconds)
        self.poll = poll_seconds
        self.owner = uuid.uuid4().hex
        self._wake = asyncio.Event()
        self.sent = 0

    def notify(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                await self.round()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("send round failed; retrying", exc_info=True)
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll)
            except TimeoutError:
                pass
            self._wake.clear()

    async def round(self) -> int:
        """Send every due intent (notifications, then digests); return how many."""
        n = 0
        while (doc := await self._claim(self.db.notifications, "email", "pending")) is not None:
            await self._send_notification(doc)
            n += 1
        while (doc := await self._claim(self.db.digests, "status", "open", due=True)) is not None:
            await self._send_digest(doc)
            n += 1
        self.sent += n
        return n

    async def _claim(self, coll: Any, field: str, ready: str, due: bool = False) -> Doc | None:
        now = datetime.now(UTC)
        claim = {"$set": {field: "sending", "lease": now + self.lease, "owner": self.owner}}
        extra: Doc = {"due": {"$lte": now.timestamp()}} if due else {}
        for query in ({field: ready, **extra}, {field: "sending", "lease": {"$lt": now}}):
            doc = await coll.find_one_and_update(query, claim, return_document=ReturnDocument.AFTER)
            if doc is not None:
                return doc  # type: ignore[no-any-return]
        return None

    async def _prefs(self, member: str) -> Preferences:
        return Preferences.from_doc(
            await self.db.preferences.find_one({"_id": member}, {"outbox": 0})
        )

    async def _finish(self, coll: Any, doc: Doc, field: str, state: str, events: list[Any]) -> None:
        update: Doc = {
            "$set": {field: state, "done_at": datetime.now(UTC)},
            "$unset": {"lease": "", "owner": ""},
        }
        await coll.update_one(
            {"_id": doc["_id"], field: "sending", "owner": self.owner},
            outbox_ops(topics.NOTIFICATIONS_EVENTS, events, update),
        )

    async def _send_notification(self, n: Doc) -> None:
        prefs = await self._prefs(n["recipient"])
        to = prefs.email or n.get("to")
        if not to or "email" not in prefs.channels or n["kind"] in prefs.unsubscribed:
            # unsubscribed (or email turned off) after the decision: that kind stops now
            await self._finish(self.db.notifications, n, "email", "cancelled", [])
            return
        msg = self.mailer.notification(
            nid=n["_id"],
            to=to,
            member=n["recipient"],
            kind=n["kind"],
            text=n["text"],
            link=n["link"],
        )
        await self.mailer.send(msg)
        event = new_event(
            NotificationDelivered(
                notification_id=n["_id"],
                recipient_id=n["recipient"],
                kind=n["kind"],
                priority=n["priority"],
                channel="email",
                source_event_id=n["source_event_id"],
                entry_id=n.get("entry") or "",
            ),
            subject=n["recipient"],
            event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, n["_id"] + "/email")),
        )
        await self._finish(self.db.notifications, n, "email", "sent", [event])

    async def _send_digest(self, d: Doc) -> None:
        member = d["r"]
        prefs = await self._prefs(member)
        to = prefs.email or (f"{member}@{self.email_domain}" if self.email_domain else None)
        items = [
            digests.Item(
                nid,
                it["kind"],
                it["group"],
                it["text"],
                it["link"],
                it["at"].timestamp() if isinstance(it["at"], datetime) else it["at"],
            )
            for nid, it in (d.get("items") or {}).items()
        ]
        if not to or "email" not in prefs.channels or DIGEST in prefs.unsubscribed or not items:
            await self._finish(self.db.digests, d, "status", "skipped", [])
            return
        lines = digests.rank(items)
        shown = lines[: digests.MAX_LINES]
        more = sum(ln.count for ln in lines[digests.MAX_LINES :])
        msg = self.mailer.digest(
            did=d["_id"], to=to, member=member, period=d["period"], lines=shown, more=more
        )
        await self.mailer.send(msg)
        event = new_event(
            DigestSent(
                digest_id=d["_id"],
                recipient_id=member,
                period=d["period"],
                item_count=len(items),
                kinds=sorted({i.kind for i in items}),
                sent_at=datetime.now(UTC),
            ),
            subject=member,
            event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, d["_id"] + "/digest")),
        )
        await self._finish(self.db.digests, d, "status", "sent", [event])
