"""Document builders: the stored shape of the forum's aggregates (the repositories in
repository.py load and dump through these; the handlers never build documents)."""

from __future__ import annotations

from typing import Any

from ..domain.group import Group
from ..domain.moderation import Flag, Notice, PostModeration
from .mongo import Doc


def post_doc(
    post_id: str,
    thread_id: str,
    parent: str | None,
    kind: str,
    author: str,
    body: str,
    at: Any,
    **extra: Any,
) -> Doc:
    """A new post (opening or reply): small, and no counter on it (its score is the
    projection's ``post_stats``)."""
    return {
        "_id": post_id,
        "thread_id": thread_id,
        "parent_post_id": parent,
        "kind": kind,
        "author_id": author,
        "body": body,
        "hidden": False,
        "deleted": False,
        "flaggers": [],
        "version": 1,
        "created_at": at,
        "edited_at": None,
        **extra,
    }


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


def group_fields(g: Group) -> Doc:
    return {
        "name": g.name,
        "name_key": g.name_key,
        "description": g.description,
        "owner_id": g.owner_id,
        "created_at": g.created_at,
        "archived": g.archived,
        "archived_at": g.archived_at,
        "archived_by": g.archived_by,
    }


def to_moderation(p: Doc) -> PostModeration:
    flaggers = tuple(p.get("flaggers") or ())
    if "open_flags" in p:
        open_flags = tuple(
            Flag(f["user_id"], f.get("reason") or "", f.get("at")) for f in p["open_flags"] or ()
        )
    else:  # written before the review queue: every flag is still open
        open_flags = tuple(Flag(u, "", None) for u in flaggers)
    n = p.get("notice")
    hidden = bool(p.get("hidden", False))
    return PostModeration(
        post_id=p["_id"],
        thread_id=p["thread_id"],
        author_id=p["author_id"],
        version=int(p.get("version", 0)),
        hidden=hidden,
        hidden_at=p.get("hidden_at"),
        hidden_reason=p.get("hidden_reason"),
        hidden_by=p.get("hidden_by", "community" if hidden else None),
        hide_count=int(p.get("hide_count", 1 if hidden else 0)),
        restore_count=int(p.get("restore_count", 0)),
        flaggers=flaggers,
        open_flags=open_flags,
        flagged_at=p.get("flagged_at"),
        notice=Notice(n["kind"], n["reason"], n["at"]) if n else None,
    )


def moderation_fields(s: PostModeration) -> Doc:
    fields: Doc = {
        "hidden": s.hidden,
        "hidden_at": s.hidden_at,
        "hidden_reason": s.hidden_reason,
        "hidden_by": s.hidden_by,
        "hide_count": s.hide_count,
        "restore_count": s.restore_count,
        "flaggers": list(s.flaggers),
        "open_flags": [
            {"user_id": f.user_id, "reason": f.reason, "at": f.at} for f in s.open_flags
        ],
        "flag_review": "open" if s.in_queue else None,
        "flagged_at": s.flagged_at,
    }
    if s.notice is not None:
        fields["notice"] = {"kind": s.notice.kind, "reason": s.notice.reason, "at": s.notice.at}
        fields["notice_for"] = s.author_id
        fields["notice_at"] = s.notice.at
    return fields
