"""The Group aggregate without any server: who may do what, and which events come out."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from forum.domain.errors import ConflictError, InvalidCommandError, NotAllowedError
from forum.domain.group import Group, GroupArchivedError, UpdateGroup, name_key

AT = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def group() -> Group:
    g, _ = Group.create("g1", "Smart  Home", "d", "owner", AT)
    return g


def names(events: list[object]) -> list[str]:
    return [e.type.split(".")[2] for e in events]  # type: ignore[attr-defined]


def test_create_emits_created_then_owner_joined() -> None:
    g, events = Group.create("g1", "Smart Home", "d", "owner", AT)
    assert names(events) == ["GroupCreated", "GroupJoined"]
    assert events[1].data.user_id == "owner" and all(e.subject == "g1" for e in events)
    assert not g.archived and g.owner_id == "owner"
    with pytest.raises(InvalidCommandError):
        Group.create("g2", " ", "", "owner", AT)


def test_name_key_ignores_case_width_and_spacing() -> None:
    assert name_key("  Smart   HOME ") == name_key("smart home") == "smart home"
    full_width = "".join(chr(0xFF21 + ord(c) - ord("A")) for c in "SMART")
    assert name_key(full_width) == name_key("smart")  # full-width letters (NFKC)
    assert name_key("Straße") == name_key("STRASSE")  # case folding, not lower()
    assert group().name_key == "smart home"


def test_only_owner_or_moderator_edits() -> None:
    g = group()
    with pytest.raises(NotAllowedError):
        g.update("someone", ["member"], name="x", description=None, at=AT)
    new, events = g.update("owner", ["member"], name="Home", description=None, at=AT)
    assert (new.name, new.description) == ("Home", "d") and names(events) == ["GroupUpdated"]
    assert (events[0].data.name, events[0].data.description) == ("Home", "d")
    new, events = g.update("mod", ["moderator"], name=None, description="e", at=AT)
    assert new.description == "e" and events[0].data.updated_by == "mod"
    same, none = g.update("owner", [], name="Smart  Home", description="d", at=AT)
    assert same is g and none == []
    with pytest.raises(InvalidCommandError):
        g.update("owner", [], name="  ", description=None, at=AT)
    with pytest.raises(InvalidCommandError):
        UpdateGroup().check()


def test_archive_once_then_closed() -> None:
    g = group()
    with pytest.raises(NotAllowedError):
        g.archive("someone", [], AT)
    archived, events = g.archive("staffer", ["staff"], AT)
    assert archived.archived and names(events) == ["GroupArchived"]
    assert archived.archive("owner", [], AT) == (archived, [])
    for action in (
        lambda: archived.update("owner", [], name="n", description=None, at=AT),
        lambda: archived.membership_change("u", member=True, at=AT),
        lambda: archived.check_can_post("owner", True),
    ):
        with pytest.raises(GroupArchivedError):
            action()
    assert names(archived.membership_change("u", member=False, at=AT)) == ["GroupLeft"]


def test_membership_and_posting_rules() -> None:
    g = group()
    assert names(g.membership_change("u", member=True, at=AT)) == ["GroupJoined"]
    with pytest.raises(ConflictError):
        g.membership_change("owner", member=False, at=AT)
    g.check_can_post("owner", False)  # the owner is always a member
    g.check_can_post("u", True)
    with pytest.raises(NotAllowedError) as e:
        g.check_can_post("u", False)
    assert e.value.field == "group_id" and "members/me" in e.value.detail
