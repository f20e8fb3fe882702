"""Groups (clubs): create, list, join, leave, members."""

from __future__ import annotations

from typing import Any

from pymongo.errors import DuplicateKeyError

from communitykit.auth import Principal
from communitykit.outbox import outbox_fields, outbox_ops
from schemas import new_event
from schemas.forum import GroupCreated, GroupJoined, GroupLeft

from ..adapters.mongo import Doc, ForumDb
from ..adapters.pagination import page
from ..domain.commands import CreateGroup
from ..domain.errors import ConflictError, GroupNotFoundError
from ._common import MAX_RETRIES, TOPIC, new_id, now


def _group_view(g: Doc, members: int) -> dict[str, Any]:
    return {
        "group_id": g["_id"],
        "name": g["name"],
        "description": g.get("description", ""),
        "owner_id": g["owner_id"],
        "created_at": g["created_at"],
        "member_count": members,
    }


async def create_group(db: ForumDb, user: Principal, cmd: CreateGroup) -> dict[str, str]:
    """POST /groups → a ``groups`` document with GroupCreated in its outbox."""
    group_id, at = new_id(), now()
    event = new_event(
        GroupCreated(group_id=group_id, name=cmd.name, owner_id=user.user_id),
        subject=group_id,
        actor_id=user.user_id,
        time=at,
    )
    await db.groups.insert_one(
        {
            "_id": group_id,
            "name": cmd.name,
            "description": cmd.description,
            "owner_id": user.user_id,
            "created_at": at,
            **outbox_fields(TOPIC, [event]),
        }
    )
    return {"group_id": group_id}


async def _member_counts(db: ForumDb, ids: list[str]) -> dict[str, int]:
    rows = await (
        await db.memberships.aggregate(
            [
                {"$match": {"group_id": {"$in": ids}, "member": True}},
                {"$group": {"_id": "$group_id", "n": {"$sum": 1}}},
            ]
        )
    ).to_list(None)
    return {r["_id"]: int(r["n"]) for r in rows}


async def list_groups(db: ForumDb, limit: int, cursor: str | None) -> dict[str, Any]:
    docs, nxt = await page(
        db.groups, {}, sort="created_at", limit=limit, cursor=cursor, projection={"outbox": 0}
    )
    counts = await _member_counts(db, [g["_id"] for g in docs])
    return {"items": [_group_view(g, counts.get(g["_id"], 0)) for g in docs], "next_cursor": nxt}


async def get_group(db: ForumDb, group_id: str) -> dict[str, Any]:
    g = await db.groups.find_one({"_id": group_id}, {"outbox": 0})
    if g is None:
        raise GroupNotFoundError(f"no group {group_id!r}")
    return _group_view(g, (await _member_counts(db, [group_id])).get(group_id, 0))


async def set_membership(
    db: ForumDb, user: Principal, group_id: str, member: bool
) -> dict[str, Any]:
    """PUT/DELETE /groups/{id}/members/me → the membership document; GroupJoined/GroupLeft in
    its outbox only when membership actually changes (idempotent, version-guarded)."""
    if await db.groups.find_one({"_id": group_id}, {"_id": 1}) is None:
        raise GroupNotFoundError(f"no group {group_id!r}")
    mid = f"{group_id}:{user.user_id}"
    for _ in range(MAX_RETRIES):
        current = await db.memberships.find_one({"_id": mid}, {"outbox": 0})
        if bool(current and current.get("member")) == member:
            return {"group_id": group_id, "member": member}
        data = (GroupJoined if member else GroupLeft)(group_id=group_id, user_id=user.user_id)
        at = now()
        event = new_event(data, subject=group_id, actor_id=user.user_id, time=at)
        fields: Doc = {"member": member, "updated_at": at}
        if member:
            fields["joined_at"] = at
        if current is None:
            try:
                await db.memberships.insert_one(
                    {
                        "_id": mid,
                        "group_id": group_id,
                        "user_id": user.user_id,
                        "version": 1,
                        **fields,
                        **outbox_fields(TOPIC, [event]),
                    }
                )
                return {"group_id": group_id, "member": member}
            except DuplicateKeyError:
                continue
        res = await db.memberships.update_one(
            {"_id": mid, "version": current["version"]},
            outbox_ops(TOPIC, [event], {"$set": fields, "$inc": {"version": 1}}),
        )
        if res.matched_count:
            return {"group_id": group_id, "member": member}
    raise ConflictError("membership is changing too fast; try again")


async def list_members(
    db: ForumDb, group_id: str, limit: int, cursor: str | None
) -> dict[str, Any]:
    if await db.groups.find_one({"_id": group_id}, {"_id": 1}) is None:
        raise GroupNotFoundError(f"no group {group_id!r}")
    docs, nxt = await page(
        db.memberships,
        {"group_id": group_id, "member": True},
        sort="_id",
        limit=limit,
        cursor=cursor,
        projection={"outbox": 0},
    )
    return {
        "items": [{"user_id": d["user_id"], "joined_at": d.get("joined_at")} for d in docs],
        "next_cursor": nxt,
    }
