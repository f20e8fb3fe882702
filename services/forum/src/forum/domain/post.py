"""The ``Post`` aggregate: edit, delete, being replied to, hidden/restored. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from communitykit.auth import Principal
from schemas import Envelope, new_event
from schemas.forum import PostDeleted, PostEdited

from . import rules
from .errors import ConflictError, InvalidCommandError, NotAllowedError, PostNotFoundError

Event = Envelope[Any]

#: what an edit may change (the post is the authority on them; the thread keeps a copy of
#: an opening post's title and tags for the lists)
EDITABLE = ("body", "title", "tags")


@dataclass
class Post:
    id: str
    thread_id: str
    parent_post_id: str | None
    kind: str
    author_id: str
    body: str = ""
    title: str | None = None
    tags: list[str] = field(default_factory=list)
    hidden: bool = False
    deleted: bool = False
    by_support: bool = False
    created_at: datetime | None = None
    edited_at: datetime | None = None
    deleted_at: datetime | None = None

    @staticmethod
    def from_doc(d: dict[str, Any]) -> Post:
        return Post(
            id=d["_id"],
            thread_id=d["thread_id"],
            parent_post_id=d.get("parent_post_id"),
            kind=d.get("kind", "reply"),
            author_id=d["author_id"],
            body=d.get("body", ""),
            title=d.get("title"),
            tags=list(d.get("tags") or []),
            hidden=bool(d.get("hidden")),
            deleted=bool(d.get("deleted")),
            by_support=bool(d.get("by_support")),
            created_at=d.get("created_at"),
            edited_at=d.get("edited_at"),
            deleted_at=d.get("deleted_at"),
        )

    def to_doc(self) -> dict[str, Any]:
        """What edits and deletes change (communitykit.repository diffs it); moderation has
        its own view of the same document (domain/moderation.py)."""
        return {
            "body": self.body,
            "title": self.title,
            "tags": list(self.tags),
            "edited_at": self.edited_at,
            "deleted": self.deleted,
            "deleted_at": self.deleted_at,
        }

    @property
    def is_opening(self) -> bool:
        return self.parent_post_id is None

    @property
    def visible(self) -> bool:
        return not self.deleted and not self.hidden

    def check_reply_target(self, thread_id: str) -> None:
        """A reply goes under a live, visible post of the same thread."""
        if self.thread_id != thread_id:
            raise InvalidCommandError(
                "parent_post_id is not a post of this thread", field="parent_post_id"
            )
        if self.deleted:
            raise InvalidCommandError(
                "parent_post_id was deleted and cannot be replied to", field="parent_post_id"
            )
        if self.hidden:
            raise InvalidCommandError(
                "parent_post_id is hidden by moderation and cannot be replied to",
                field="parent_post_id",
            )

    def edit(
        self, by: Principal, changes: dict[str, Any], at: datetime
    ) -> tuple[dict[str, Any], list[Event]]:
        """PATCH: author or moderator; title and tags exist on opening posts only. Returns
        the fields really changed and PostEdited (nothing when nothing changed)."""
        if self.deleted:
            raise PostNotFoundError(f"no post {self.id!r}")
        rules.check_author_or_moderator(by.user_id, by.roles, self.author_id)
        if not self.is_opening:
            for name in ("title", "tags"):
                if changes.get(name) is not None:
                    # a well-formed body that this post cannot take (it is a reply): a
                    # conflict with the post's state, not invalid input (schemathesis ST202)
                    raise ConflictError(
                        "only an opening post has a title and tags; this post is a reply",
                        field=name,
                    )
        changed = {
            k: v
            for k, v in changes.items()
            if k in EDITABLE and v is not None and getattr(self, k) != v
        }
        if not changed:
            return {}, []
        for k, v in changed.items():
            setattr(self, k, v)
        self.edited_at = at
        event = new_event(
            PostEdited(
                post_id=self.id,
                thread_id=self.thread_id,
                editor_id=by.user_id,
                fields=sorted(changed),
                title=changed.get("title"),
                body=changed.get("body"),
                tags=changed.get("tags"),
            ),
            subject=self.thread_id,
            actor_id=by.user_id,
            time=at,
        )
        return changed, [event]

    def check_delete(self, by: Principal) -> None:
        rules.check_author_or_moderator(by.user_id, by.roles, self.author_id)

    def delete(self, by: Principal, thread_author_id: str | None, at: datetime) -> list[Event]:
        """DELETE of a reply: ``deleted`` and PostDeleted (nothing if already deleted). The
        thread's counters follow from the event (projections/threads.py)."""
        if self.deleted:
            return []
        self.check_delete(by)
        self.deleted, self.deleted_at = True, at
        return [
            new_event(
                PostDeleted(
                    post_id=self.id,
                    thread_id=self.thread_id,
                    author_id=self.author_id,
                    deleted_by=by.user_id,
                    kind=self.kind,  # type: ignore[arg-type]
                    thread_author_id=thread_author_id,
                ),
                subject=self.thread_id,
                actor_id=by.user_id,
                time=at,
            )
        ]

    def mark_removed(self, at: datetime) -> list[Event]:
        """The opening post of a removed thread (the thread's PostDeleted said so): flagged
        deleted by the thread projection's command, idempotently, without an event of its
        own (the thread's PostDeleted is the fact)."""
        if not self.deleted:
            self.deleted, self.deleted_at = True, at
        return []

    def check_votable(self, by: Principal) -> None:
        if self.hidden:
            raise NotAllowedError("this post is hidden and cannot be voted on")
        if self.author_id == by.user_id:
            raise NotAllowedError("you cannot vote on your own post")

    def hide(self) -> bool:
        """True when this hides it (a hidden post stays hidden once)."""
        if self.hidden:
            return False
        self.hidden = True
        return True

    def restore(self) -> bool:
        if not self.hidden:
            return False
        self.hidden = False
        return True
