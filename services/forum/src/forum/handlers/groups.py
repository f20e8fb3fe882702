"""Groups (clubs): create, edit, archive, list, join, leave, members; ``require_member``.

Load → ask the ``Group`` (domain/group.py) → save in ONE guarded update with the events in
the document's outbox. Storage:

* ``groups``: one document per group: name, ``name_key`` (unique index: the case-insensitive
  name), description, owner, archived, ``version``, outbox, and the ``idem`` record of a
  keyed create (communitykit.idempotency).
* ``memberships``: one document per (group, user), ``_id`` = ``"<group>:<user>"``.

The owner's membership document is written *before* the group (state only, no events): a
crash in between leaves a membership of a group that does not exist, which nothing can see
(every read checks the group first); ``GroupJoined`` of the owner is in the group's outbox,
next to ``GroupCreated``, so both are published exactly when the group exists.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from pymongo.errors import DuplicateKeyError, OperationFailure

from communitykit.auth import Principal
from communitykit.idempotency import Created, Idempotency, insert_once, replay
from communitykit.outbox import outbox_fields, outbox_ops
from communitykit.pagination import page

from ..adapters.mongo import Doc, ForumDb, is_duplicate_key
from ..domain.commands import CreateGroup
from ..domain.errors import ConflictError, GroupNotFoundError, InvalidCommandError
from ..domain.group import Group, UpdateGroup
from ._common import MAX_RETRIES, TOPIC, new_id, now


class GroupView(BaseModel):
    group_id: str
    name: str
    description: str
    owner_id: str
    created_at: datetime
    archived: bool
    archived_at: datetime | None
    member_count: int


class GroupPage(BaseModel):
    items: list[GroupView]
    next_cursor: str | None


class NewGroup(BaseModel):
    group_id: str


class MembershipView(BaseModel):
    group_id: str
    member: bool


class MemberView(BaseModel):
    user_id: str
    joined_at: datetime | None
    #: "owner" for the group's owner, else null
    role: str | None


class MemberPage(BaseModel):
    items: list[MemberView]
    next_cursor: str | None


class GroupNameTakenError(ConflictError):
    title = "Group name taken"


def _taken(name: str) -> GroupNameTakenError:
    return GroupNameTakenError(
        f"a group named {name!r} already exists (names are case-insensitive)", field="name"
    )


def to_group(d: Doc) -> Group:
    return Group(
        group_id=d["_id"],
        name=d["name"],
        description=d.get("description", ""),
        owner_id=d["owner_id"],
        created_at=d["created_at"],
        archived=bool(d.get("archived", False)),
        archived_at=d.get("archived_at"),
        archived_by=d.get("archived_by"),
        version=int(d.get("version", 0)),
    )


def group_view(g: Group, members: int) -> dict[str, Any]:
    return {
        "group_id": g.group_id,
        "name": g.name,
        "description": g.description,
        "owner_id": g.owner_id,
        "created_at": g.created_at,
        "archived": g.archived,
        "archived_at": g.archived_at,
        "member_count": members,
    }


def membership_id(group_id: str, user_id: str) -> str:
    return f"{group_id}:{user_id}"


class GroupRepository:
    """Groups and memberships in the forum database."""

    def __init__(self, db: ForumDb) -> None:
        self.db = db

    async def find(self, group_id: str) -> Group | None:
        d = await self.db.groups.find_one({"_id": group_id}, {"outbox": 0, "idem": 0})
        return to_group(d) if d else None

    async def get(self, group_id: str) -> Group:
        g = await self.find(group_id)
        if g is None:
            raise GroupNotFoundError(f"no group {group_id!r}")
        return g

    async def is_member(self, group_id: str, user_id: str) -> bool:
        m = await self.db.memberships.find_one(
            {"_id": membership_id(group_id, user_id)}, {"member": 1}
        )
        return bool(m and m.get("member"))

    async def require_member(self, group_id: str, user_id: str) -> Group:
        """The group a user is about to post into: 422 (``group_id``) if there is no such
        group, 409 if it is archived, 403 if the user is not a member. Call it before
        creating a thread (or a reply) in a group."""
        g = await self.find(group_id)
        if g is None:
            raise InvalidCommandError(f"no group {group_id!r}", field="group_id")
        g.check_can_post(user_id, await self.is_member(group_id, user_id))
        return g

    async def save(self, old: Group, new: Group, events: list[Any]) -> bool:
        """Apply a change decided on ``old`` (version-guarded); False if someone changed the
        group first. A rename onto a taken name is a 409 (the unique ``name_key``)."""
        sets: Doc = {
            "name": new.name,
            "name_key": new.name_key,
            "description": new.description,
            "archived": new.archived,
            "archived_at": new.archived_at,
            "archived_by": new.archived_by,
            "updated_at": now(),
        }
        try:
            res = await self.db.groups.update_one(
                {"_id": old.group_id, "version": old.version},
                outbox_ops(TOPIC, events, {"$set": sets, "$inc": {"version": 1}}),
            )
        except (DuplicateKeyError, OperationFailure) as e:
            if is_duplicate_key(e):
                raise _taken(new.name) from e
            raise
        return res.matched_count == 1


async def require_member(db: ForumDb, group_id: str, user_id: str) -> Group:
    """Posting into ``group_id`` needs membership (see ``GroupRepository.require_member``)."""
    return await GroupRepository(db).require_member(group_id, user_id)


async def create_group(
    db: ForumDb, user: Principal, cmd: CreateGroup, key: str | None = None
) -> Created:
    """POST /groups → the owner's membership, then the ``groups`` document with
    GroupCreated and the owner's GroupJoined in its outbox. A taken name is 409; with an
    ``Idempotency-Key`` a retry answers as the first request did."""
    idem = Idempotency.of("forum/groups", user.user_id, key, cmd)
    if (done := await replay(db.groups, idem)) is not None:
        return done
    at = now()
    group_id = idem.id() if idem else new_id()
    group, events = Group.create(group_id, cmd.name, cmd.description, user.user_id, at)
    holder = await db.groups.find_one({"name_key": group.name_key}, {"_id": 1, "idem": 1})
    if holder is not None:  # the common case, refused before writing anything
        if idem is not None and holder["_id"] == group_id:
            return idem.answer(holder)  # our own twin request got there first
        raise _taken(group.name)
    mid = membership_id(group_id, user.user_id)
    try:
        await db.memberships.insert_one(
            {
                "_id": mid,
                "group_id": group_id,
                "user_id": user.user_id,
                "member": True,
                "role": "owner",
                "joined_at": at,
                "updated_at": at,
                "version": 1,
            }
        )
    except DuplicateKeyError:
        pass  # a retry of this keyed create after a crash: already there
    try:
        return await insert_once(
            db.groups,
            idem,
            {
                "_id": group_id,
                "name": group.name,
                "name_key": group.name_key,
                "description": group.description,
                "owner_id": group.owner_id,
                "archived": False,
                "archived_at": None,
                "archived_by": None,
                "created_at": at,
                "version": 0,
                **outbox_fields(TOPIC, events),
            },
            status=201,
            body={"group_id": group_id},
        )
    except DuplicateKeyError as e:  # the name went to a concurrent create
        await db.memberships.delete_one({"_id": mid, "group_id": group_id})
        raise _taken(group.name) from e


async def update_group(
    db: ForumDb, user: Principal, group_id: str, cmd: UpdateGroup
) -> dict[str, Any]:
    """PATCH /groups/{id} (owner or moderator) → GroupUpdated."""
    cmd.check()
    repo = GroupRepository(db)
    for _ in range(MAX_RETRIES):
        group = await repo.get(group_id)
        new, events = group.update(
            user.user_id, user.roles, name=cmd.name, description=cmd.description, at=now()
        )
        if not events or await repo.save(group, new, events):
            return await get_group(db, group_id)
    raise ConflictError("the group is changing too fast; try again")


async def archive_group(db: ForumDb, user: Principal, group_id: str) -> dict[str, Any]:
    """POST /groups/{id}/archive (owner or moderator) → GroupArchived once."""
    repo = GroupRepository(db)
    for _ in range(MAX_RETRIES):
        group = await repo.get(group_id)
        new, events = group.archive(user.user_id, user.roles, now())
        if not events or await repo.save(group, new, events):
            return await get_group(db, group_id)
    raise ConflictError("the group is changing too fast; try again")


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
        db.groups,
        {},
        sort="created_at",
        limit=limit,
        cursor=cursor,
        projection={"outbox": 0, "idem": 0},
    )
    counts = await _member_counts(db, [g["_id"] for g in docs])
    return {
        "items": [group_view(to_group(g), counts.get(g["_id"], 0)) for g in docs],
        "next_cursor": nxt,
    }


async def get_group(db: ForumDb, group_id: str) -> dict[str, Any]:
    g = await GroupRepository(db).get(group_id)
    return group_view(g, (await _member_counts(db, [group_id])).get(group_id, 0))


async def set_membership(
    db: ForumDb, user: Principal, group_id: str, member: bool
) -> dict[str, Any]:
    """PUT/DELETE /groups/{id}/members/me → the membership document; GroupJoined/GroupLeft in
    its outbox only when membership actually changes (idempotent, version-guarded). No joins
    into an archived group; the owner cannot leave."""
    group = await GroupRepository(db).get(group_id)
    mid = membership_id(group_id, user.user_id)
    for _ in range(MAX_RETRIES):
        current = await db.memberships.find_one({"_id": mid}, {"outbox": 0})
        if bool(current and current.get("member")) == member:
            return {"group_id": group_id, "member": member}
        at = now()
        events = group.membership_change(user.user_id, member=member, at=at)
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
                        **outbox_fields(TOPIC, events),
                    }
                )
                return {"group_id": group_id, "member": member}
            except DuplicateKeyError:
                continue
        res = await db.memberships.update_one(
            {"_id": mid, "version": current["version"]},
            outbox_ops(TOPIC, events, {"$set": fields, "$inc": {"version": 1}}),
        )
        if res.matched_count:
            return {"group_id": group_id, "member": member}
    raise ConflictError("membership is changing too fast; try again")


async def list_members(
    db: ForumDb, group_id: str, limit: int, cursor: str | None
) -> dict[str, Any]:
    await GroupRepository(db).get(group_id)
    docs, nxt = await page(
        db.memberships,
        {"group_id": group_id, "member": True},
        sort="_id",
        limit=limit,
        cursor=cursor,
        projection={"outbox": 0},
    )
    return {
        "items": [
            {"user_id": d["user_id"], "joined_at": d.get("joined_at"), "role": d.get("role")}
            for d in docs
        ],
        "next_cursor": nxt,
    }
