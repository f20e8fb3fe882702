"""One function per command or query of the HTTP API (load -> call -> save via the kit)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from communitykit.auth import Principal
from communitykit.pagination import page
from communitykit.problems import ForbiddenError, InvalidInputError, NotFoundError
from schemas import Envelope, new_event
from schemas.notifications import NotificationRead

from .adapters import repositories
from .adapters.mongo import NotificationsDb
from .domain import tokens
from .domain.budget import DAY, WEEK, BudgetState, effective_cap
from .domain.classes import UNSUBSCRIBABLE
from .domain.follows import follow_id, target_key
from .domain.preferences import PreferenceError, Preferences, QuietHours
from .views import (
    BudgetView,
    CapsBody,
    EntryView,
    FollowPage,
    FollowView,
    HeldItem,
    InboxPage,
    PreferencesBody,
    PreferencesView,
    QuietHoursBody,
    Read,
    Unsubscribed,
)

Doc = dict[str, Any]


def _now() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------------- follows
async def set_follow(
    db: NotificationsDb, user: Principal, scope: str, target: str, level: str
) -> FollowView:
    """PUT /me/follows/{scope}/{id}: one follow document (explicit from now on)."""
    fid = follow_id(user.user_id, scope, target)

    def command(f: Doc) -> list[Envelope[Any]]:
        f.update(
            member=user.user_id,
            scope=scope,
            target=target,
            tk=target_key(scope, target),
            level=level,
            explicit=True,
        )
        return []

    saved = await repositories.follows(db).change(fid, command, create=dict)
    f = saved.aggregate
    return FollowView(scope=f["scope"], id=f["target"], level=f["level"], explicit=True)


async def list_follows(
    db: NotificationsDb, user: Principal, limit: int, cursor: str | None
) -> FollowPage:
    """GET /me/follows: explicit and default follows, by id."""
    docs, nxt = await page(
        db.follows,
        {"member": user.user_id},
        sort="_id",
        limit=limit,
        cursor=cursor,
        descending=False,
    )
    return FollowPage(
        items=[
            FollowView(
                scope=d["scope"], id=d["target"], level=d["level"], explicit=bool(d.get("explicit"))
            )
            for d in docs
        ],
        next_cursor=nxt,
    )


# ---------------------------------------------------------------------- preferences
def _view(p: Preferences) -> PreferencesView:
    doc = p.to_doc()
    return PreferencesView(
        **{k: v for k, v in doc.items() if k not in ("caps", "quiet_hours")},
        quiet_hours=QuietHoursBody(**doc["quiet_hours"]) if doc["quiet_hours"] else None,
        caps=CapsBody(**doc["caps"]),
        effective_caps=CapsBody(email_per_week=p.email_cap, push_per_day=p.push_cap),
    )


async def get_preferences(db: NotificationsDb, user: Principal) -> PreferencesView:
    found = await repositories.accounts(db).find(user.user_id)
    return _view(found[0].prefs if found else Preferences())


async def put_preferences(
    db: NotificationsDb, user: Principal, body: PreferencesBody
) -> PreferencesView:
    """PUT /me/preferences: the member's preferences document (bad values: 422 naming the
    field)."""

    def command(acc: repositories.Account) -> list[Envelope[Any]]:
        try:
            acc.prefs = Preferences(
                preset=body.preset,
                channels=frozenset(body.channels),
                timezone=body.timezone,
                quiet_hours=(
                    QuietHours(body.quiet_hours.start, body.quiet_hours.end)
                    if body.quiet_hours
                    else None
                ),
                email_per_week=body.caps.email_per_week,
                push_per_day=body.caps.push_per_day,
                digest=body.digest,
                unsubscribed=(
                    acc.prefs.unsubscribed
                    if body.unsubscribed is None
                    else frozenset(body.unsubscribed)
                ),
                email=body.email,
            )
        except PreferenceError as e:
            raise InvalidInputError(str(e), field=e.field) from None
        return []

    saved = await repositories.accounts(db).change(
        user.user_id, command, create=lambda: repositories.Account(Preferences())
    )
    return _view(saved.aggregate.prefs)


# ---------------------------------------------------------------------- inbox
async def list_inbox(
    db: NotificationsDb, user: Principal, limit: int, cursor: str | None
) -> InboxPage:
    """GET /me/notifications: entries newest first, and the unread count."""
    found = await repositories.accounts(db).find(user.user_id)
    read_all = found[0].read_all_at if found else None
    docs, nxt = await page(
        db.inbox,
        {"r": user.user_id},
        sort="latest",
        limit=limit,
        cursor=cursor,
        projection={"outbox": 0},
    )
    unread_q: Doc = {"r": user.user_id, "read": False}
    if read_all is not None:
        unread_q["latest"] = {"$gt": read_all}
    unread = await db.inbox.count_documents(unread_q)
    return InboxPage(
        items=[
            EntryView(
                id=d["_id"],
                kind=d["kind"],
                text=d["text"],
                link=d["link"],
                count=d["count"],
                latest=d["latest"],
                read=bool(d.get("read")) or (read_all is not None and d["latest"] <= read_all),
            )
            for d in docs
        ],
        next_cursor=nxt,
        unread=unread,
    )


def _read_event(user: str, entry: str | None, count: int) -> Envelope[Any]:
    return new_event(
        NotificationRead(recipient_id=user, entry_id=entry, notification_count=count),
        subject=user,
        actor_id=user,
        event_id=str(uuid.uuid4()),
    )


async def read_entry(db: NotificationsDb, user: Principal, entry_id: str) -> Read:
    """POST /me/notifications/{id}/read: the entry document, with NotificationRead in its
    outbox (the consumer grows the member's budget back from it)."""

    def command(e: Doc) -> list[Envelope[Any]]:
        if e.get("r") != user.user_id:
            raise NotFoundError(f"no such notification {entry_id!r}")
        if e.get("read"):
            return []
        e["read"] = True
        return [_read_event(user.user_id, entry_id, int(e.get("count", 1)))]

    await repositories.inbox(db).change(entry_id, command)
    return Read(id=entry_id)


async def read_all(db: NotificationsDb, user: Principal) -> Read:
    """POST /me/notifications/read-all: the member's preferences document records the time
    (entries up to it read as read), with NotificationRead in its outbox."""
    unread = await db.inbox.count_documents({"r": user.user_id, "read": False})

    def command(acc: repositories.Account) -> list[Envelope[Any]]:
        acc.read_all_at = _now()
        return [_read_event(user.user_id, None, unread)]

    await repositories.accounts(db).change(
        user.user_id, command, create=lambda: repositories.Account(Preferences())
    )
    return Read(id=None)


async def budget(db: NotificationsDb, user: Principal, now: datetime | None = None) -> BudgetView:
    """GET /me/notifications/budget: caps, what the adaptation made of them, what was held
    back and why, and the next digest."""
    now = now or _now()
    found = await repositories.accounts(db).find(user.user_id)
    prefs = found[0].prefs if found else Preferences()
    doc = await db.members.find_one({"_id": user.user_id}, {"outbox": 0}) or {}
    state = BudgetState.from_doc(doc.get("budget"))
    t = now.timestamp()
    digest = await db.digests.find_one(
        {"r": user.user_id, "status": "open"}, {"outbox": 0}, sort=[("due", -1)]
    )
    return BudgetView(
        caps=CapsBody(email_per_week=prefs.email_cap, push_per_day=prefs.push_cap),
        effective=CapsBody(
            email_per_week=effective_cap(prefs.email_cap, state.shrink),
            push_per_day=effective_cap(prefs.push_cap, state.shrink),
        ),
        shrink_level=state.shrink,
        used={
            "emails_this_week": sum(1 for x in state.emails if x > t - WEEK),
            "pushes_today": sum(1 for x in state.pushes if x > t - DAY),
        },
        held=state.held,
        recent_held=[HeldItem(**h) for h in reversed(doc.get("recent_held", []))],
        next_digest={
            "period": digest["period"] if digest else None,
            "due": digest["due"] if digest else None,
            "items": len(digest.get("items", {})) if digest else 0,
        },
    )


# ---------------------------------------------------------------------- unsubscribe
async def unsubscribe(
    db: NotificationsDb, secret: str, token: str, caller: Principal | None
) -> Unsubscribed:
    """POST /unsubscribe?token= (RFC 8058 one-click): that member's preferences document
    stops emails of that kind. A forged token, or one for another member than the caller,
    is 403."""
    try:
        member, kind = tokens.verify(secret, token)
    except tokens.BadTokenError as e:
        raise ForbiddenError(str(e), field="token") from None
    if kind not in UNSUBSCRIBABLE:
        raise ForbiddenError("unsubscribe token names no kind of notification", field="token")
    if caller is not None and caller.user_id != member:
        raise ForbiddenError("this unsubscribe token belongs to another member", field="token")

    def command(acc: repositories.Account) -> list[Envelope[Any]]:
        acc.prefs = replace(acc.prefs, unsubscribed=acc.prefs.unsubscribed | {kind})
        return []

    await repositories.accounts(db).change(
        member, command, create=lambda: repositories.Account(Preferences())
    )
    return Unsubscribed(member=member, kind=kind)
