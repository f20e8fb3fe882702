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
from communitykit.outbox import outbox_fields
from communitykit.pagination import page

from ..adapters import repository as repos
from ..adapters.documents import group_fields, to_group
from ..adapters.mongo import ForumDb, is_duplicate_key
from ..adapters.repository import TOPIC
from ..domain.commands import CreateGroup
from ..domain.errors import ConflictError, InvalidCommandError
from ..domain.group import Group, UpdateGroup
from ._common import new_id, now


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


async def find_group(db: ForumDb, group_id: str) -> Group | None:
    found = await repos.groups(db).find(group_id)
    return found[0].group if found is not None else None


async def get_group_aggregate(db: ForumDb, group_id: str) -> Group:
    return (await repos.groups(db).get(group_id)).group


async def is_member(db: ForumDb, group_id: str, user_id: str) -> bool:
    m = await db.memberships.find_one({"_id": membership_id(group_id, user_id)}, {"member": 1})
    return bool(m and m.get("member"))


async def require_member(db: ForumDb, group_id: str, user_id: str) -> Group:
    """The group a user is about to post into: 422 (``group_id``) if there is no such
    group, 409 if it is archived, 403 if the user is not a member. Call it before creating
    a thread (or a reply) in a group."""
    g = await find_group(db, group_id)
    if g is None:
        raise InvalidCommandError(f"no group {group_id!r}", field="group_id")
    g.check_can_post(user_id, await is_member(db, group_id, user_id))
    return g


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
        owner = repos.Membership(group_id, user.user_id, True, "owner", at, at)
        await db.memberships.insert_one({"_id": mid, **owner.to_doc(), "version": 1})
    except DuplicateKeyError:
        pass  # a retry of this keyed create after a crash: already there
    try:
        return await insert_once(
            db.groups,
            idem,
            {
                "_id": group_id,
                **group_fields(group),
                "version": 1,
                **outbox_fields(TOPIC, events),
            },
            status=201,
            body={"group_id": group_id},
        )
    except DuplicateKeyError as e:  # the name went to a concurrent create
        await db.memberships.delete_one({"_id": mid, "group_id": group_id})
        raise _taken(group.name) from e


async def _decide(
    db: ForumDb, group_id: str, decide: Any, new_name: str | None = None
) -> dict[str, Any]:
    """Load → decide → one guarded save (communitykit.repository); a rename onto a taken
    name is a 409 (the store's unique ``name_key`` refuses the update)."""

    def command(m: repos.Managed) -> list[Any]:
        m.group, events = decide(m.group)
        return list(events)

    try:
        saved = await repos.groups(db).change(group_id, command)
    except (DuplicateKeyError, OperationFailure) as e:
        if is_duplicate_key(e):
            raise _taken(new_name or "") from e
        raise
    g = saved.aggregate.group
    return group_view(g, (await _member_counts(db, [group_id])).get(group_id, 0))


async def update_group(
    db: ForumDb, user: Principal, group_id: str, cmd: UpdateGroup
) -> dict[str, Any]:
    """PATCH /groups/{id} (owner or moderator) → GroupUpdated."""
    cmd.check()

    def decide(g: Group) -> tuple[Group, list[Any]]:
        return g.update(
            user.user_id, user.roles, name=cmd.name, description=cmd.description, at=now()
        )

    return await _decide(db, group_id, decide, cmd.name)


async def archive_group(db: ForumDb, user: Principal, group_id: str) -> dict[str, Any]:
    """POST /groups/{id}/archive (owner or moderator) → GroupArchived once."""
    return await _decide(db, group_id, lambda g: g.archive(user.user_id, user.roles, now()))


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
    g = await get_group_aggregate(db, group_id)
    return group_view(g, (await _member_counts(db, [group_id])).get(group_id, 0))


async def set_membership(
    db: ForumDb, user: Principal, group_id: str, member: bool
) -> dict[str, Any]:
    """PUT/DELETE /groups/{id}/members/me → the membership document; GroupJoined/GroupLeft in
    its outbox only when membership actually changes (idempotent, version-guarded). No joins
    into an archived group; the owner cannot leave."""
    group = await get_group_aggregate(db, group_id)
    at = now()

    def change(m: repos.Membership) -> list[Any]:
        if m.member == member:
            return []  # idempotent: nothing changes, nothing is published
        events = group.membership_change(user.user_id, member=member, at=at)
        m.member, m.updated_at = member, at
        if member:
            m.joined_at = at
        return events

    await repos.memberships(db).change(
        membership_id(group_id, user.user_id),
        change,
        create=lambda: repos.Membership(group_id, user.user_id),
    )
    return {"group_id": group_id, "member": member}


async def list_members(
    db: ForumDb, group_id: str, limit: int, cursor: str | None
) -> dict[str, Any]:
    await get_group_aggregate(db, group_id)
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
