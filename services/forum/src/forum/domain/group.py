"""The ``Group`` aggregate (a club): its rules, and the events each change produces. No I/O.

Rules (issue 11, gap 7):

* the creator is the group's **owner and its first member** (``GroupCreated`` then
  ``GroupJoined``); the owner cannot leave (there is no ownership transfer yet);
* names are unique **case-insensitively** (and ignoring runs of spaces): ``name_key``;
  the store's unique index on it decides races (adapters/mongo.py);
* the **owner or a moderator** (roles moderator/staff) may edit the name and description
  (``GroupUpdated``) or archive the group (``GroupArchived``);
* an **archived** group accepts no new posts, no joins and no edits; members may still leave;
* posting into a group needs **membership** (:func:`check_can_post`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Annotated, Any

from pydantic import ConfigDict, StringConstraints

from schemas import Envelope, new_event
from schemas.forum import GroupArchived, GroupCreated, GroupJoined, GroupLeft, GroupUpdated

from . import rules
from .commands import Command, at_least_one_of
from .errors import ConflictError, InvalidCommandError, NotAllowedError

GroupName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Description = Annotated[str, StringConstraints(max_length=2000)]

Events = list[Envelope[Any]]


class GroupArchivedError(ConflictError):
    title = "Group archived"


class UpdateGroup(Command):
    """PATCH /groups/{id}: any of name, description."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra=at_least_one_of(name="string", description="string")
    )

    name: GroupName | None = None
    description: Description | None = None

    def check(self) -> None:
        if self.name is None and self.description is None:
            raise InvalidCommandError("give at least one of name, description", field="name")


def name_key(name: str) -> str:
    """The uniqueness key of a group name: Unicode-normalised, case-folded, inner runs of
    white space collapsed ("Home  Owners" and "home owners" are the same name)."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


@dataclass(frozen=True)
class Group:
    group_id: str
    name: str
    description: str
    owner_id: str
    created_at: datetime
    archived: bool = False
    archived_at: datetime | None = None
    archived_by: str | None = None
    version: int = 0

    @property
    def name_key(self) -> str:
        return name_key(self.name)

    # ------------------------------------------------------------------ create
    @classmethod
    def create(
        cls, group_id: str, name: str, description: str, owner_id: str, at: datetime
    ) -> tuple[Group, Events]:
        """A user founds a group → ``GroupCreated`` and the owner's ``GroupJoined``."""
        if not name_key(name):
            raise InvalidCommandError("name must not be blank", field="name")
        group = cls(group_id, name, description, owner_id, at)
        events: Events = [
            new_event(
                GroupCreated(group_id=group_id, name=name, owner_id=owner_id),
                subject=group_id,
                actor_id=owner_id,
                time=at,
            ),
            new_event(
                GroupJoined(group_id=group_id, user_id=owner_id),
                subject=group_id,
                actor_id=owner_id,
                time=at,
            ),
        ]
        return group, events

    # ------------------------------------------------------------------ manage
    def can_manage(self, user_id: str, roles: Iterable[str]) -> bool:
        return user_id == self.owner_id or rules.can_moderate(roles)

    def _check_manage(self, user_id: str, roles: Iterable[str], what: str) -> None:
        if not self.can_manage(user_id, roles):
            raise NotAllowedError(f"only the group's owner or a moderator may {what} it")

    def check_open(self, what: str) -> None:
        if self.archived:
            raise GroupArchivedError(
                f"group {self.group_id!r} is archived: it accepts no {what}",
                group_id=self.group_id,
            )

    def update(
        self,
        user_id: str,
        roles: Iterable[str],
        *,
        name: str | None,
        description: str | None,
        at: datetime,
    ) -> tuple[Group, Events]:
        """Rename and/or describe → ``GroupUpdated`` (with the full new name and description);
        nothing changes → no event."""
        self._check_manage(user_id, roles, "edit")
        self.check_open("edits")
        if name is not None and not name_key(name):
            raise InvalidCommandError("name must not be blank", field="name")
        new = replace(
            self,
            name=self.name if name is None else name,
            description=self.description if description is None else description,
        )
        if (new.name, new.description) == (self.name, self.description):
            return self, []
        event = new_event(
            GroupUpdated(
                group_id=self.group_id,
                name=new.name,
                description=new.description,
                updated_by=user_id,
            ),
            subject=self.group_id,
            actor_id=user_id,
            time=at,
        )
        return new, [event]

    def archive(self, user_id: str, roles: Iterable[str], at: datetime) -> tuple[Group, Events]:
        """Archive → ``GroupArchived`` once; archiving an archived group changes nothing."""
        self._check_manage(user_id, roles, "archive")
        if self.archived:
            return self, []
        new = replace(self, archived=True, archived_at=at, archived_by=user_id)
        event = new_event(
            GroupArchived(group_id=self.group_id, archived_by=user_id),
            subject=self.group_id,
            actor_id=user_id,
            time=at,
        )
        return new, [event]

    # ------------------------------------------------------------------ membership
    def membership_change(self, user_id: str, *, member: bool, at: datetime) -> Events:
        """Join (not into an archived group) or leave (not the owner) → one event."""
        if member:
            self.check_open("new members")
        elif user_id == self.owner_id:
            raise ConflictError("the owner cannot leave their own group", field="user_id")
        data = (GroupJoined if member else GroupLeft)(group_id=self.group_id, user_id=user_id)
        return [new_event(data, subject=self.group_id, actor_id=user_id, time=at)]

    def check_can_post(self, user_id: str, is_member: bool) -> None:
        """Posting into a group: open group, and a member (the owner always is)."""
        self.check_open("new posts")
        if not is_member and user_id != self.owner_id:
            raise NotAllowedError(
                f"only members of group {self.group_id!r} may post in it; join it first "
                f"(PUT /groups/{self.group_id}/members/me)",
                field="group_id",
            )
