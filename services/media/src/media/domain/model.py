"""The media item aggregate: its state machine and moderation rules (pure Python).

``processing`` → ``ready`` | ``rejected`` (the worker), ``ready``/``rejected`` → ``deleted``
(the orphan sweep). Visibility is separate from the state: a ``held`` item (a level-0
member's upload) waits for a moderator, a ``hidden`` one was flagged or hidden by one; both
are shown to their author and to moderators only. Every command checks its rule against the
loaded state and returns the events it produces (communitykit.repository saves both at once).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from communitykit.auth import Principal
from schemas import Envelope, new_event
from schemas.levels import FLAGS_TO_HIDE, HIDE_AT_ONCE_LEVEL
from schemas.media import (
    MediaApproved,
    MediaDeleted,
    MediaFlagged,
    MediaHidden,
    MediaKind,
    MediaProcessed,
    MediaRejected,
    MediaRestored,
    MediaUploaded,
)

from .errors import NotAllowedError, Settled, StateConflictError

State = Literal["processing", "ready", "rejected", "deleted"]
Event = Envelope[Any]
MODERATORS = ("moderator", "staff")

__all__ = ["MediaItem", "MediaKind", "Processed", "Rendition", "is_moderator"]


def is_moderator(user: Principal | None) -> bool:
    return user is not None and user.has(*MODERATORS)


@dataclass
class Rendition:
    key: str
    size: int
    content_type: str
    etag: str
    width: int | None = None


@dataclass(frozen=True)
class Processed:
    """What the worker found and made."""

    kind: MediaKind
    content_type: str
    width: int
    height: int
    duration_seconds: float | None
    renditions: dict[str, Rendition]


@dataclass
class MediaItem:
    media_id: str
    author_id: str
    filename: str
    declared_type: str
    size: int
    original_key: str
    created_at: datetime
    day: str
    kind_hint: MediaKind
    alt_text: str = ""
    state: State = "processing"
    held: bool = False
    hidden: bool = False
    hidden_reason: str | None = None
    flags: dict[str, str] = field(default_factory=dict)
    reason: str | None = None
    kind: MediaKind | None = None
    content_type: str | None = None
    width: int | None = None
    height: int | None = None
    duration_seconds: float | None = None
    renditions: dict[str, Rendition] = field(default_factory=dict)
    #: its place in the author's quota of ``day`` and ``kind_hint`` (unique: quota_slot)
    quota_n: int | None = None

    # ------------------------------------------------------------------ upload
    @classmethod
    def upload(
        cls,
        *,
        media_id: str,
        author_id: str,
        filename: str,
        declared_type: str,
        size: int,
        original_key: str,
        alt_text: str,
        held: bool,
        kind_hint: MediaKind,
        now: datetime,
        day: str,
    ) -> tuple[MediaItem, list[Event]]:
        item = cls(
            media_id=media_id,
            author_id=author_id,
            filename=filename,
            declared_type=declared_type,
            size=size,
            original_key=original_key,
            created_at=now,
            day=day,
            kind_hint=kind_hint,
            alt_text=alt_text,
            held=held,
        )
        event = MediaUploaded(
            media_id=media_id,
            author_id=author_id,
            size=size,
            filename=filename,
            declared_type=declared_type,
            held=held,
        )
        return item, [item._event(event, author_id)]

    # ------------------------------------------------------------------ worker
    def processed(self, result: Processed) -> list[Event]:
        """``processing`` → ``ready`` with what the worker made (MediaProcessed)."""
        self._processing()
        self.state = "ready"
        self.kind = result.kind
        self.content_type = result.content_type
        self.width, self.height = result.width, result.height
        self.duration_seconds = result.duration_seconds
        self.renditions = dict(result.renditions)
        return [
            self._event(
                MediaProcessed(
                    media_id=self.media_id,
                    author_id=self.author_id,
                    kind=result.kind,
                    content_type=result.content_type,
                    width=result.width,
                    height=result.height,
                    duration_seconds=result.duration_seconds,
                    renditions=sorted(result.renditions),
                )
            )
        ]

    def rejected(self, reason: str) -> list[Event]:
        """``processing`` → ``rejected`` with a reason the author can act on (MediaRejected)."""
        self._processing()
        self.state = "rejected"
        self.reason = reason
        return [
            self._event(
                MediaRejected(media_id=self.media_id, author_id=self.author_id, reason=reason)
            )
        ]

    def _processing(self) -> None:
        if self.state != "processing":
            raise Settled(self.media_id)

    # ------------------------------------------------------------------ visibility
    @property
    def public(self) -> bool:
        """Everyone may see it (and caches may keep it)."""
        return self.state == "ready" and not self.held and not self.hidden

    def visible_to(self, user: Principal | None) -> bool:
        if self.state == "deleted":
            return False
        if self.public:
            return True
        return user is not None and (user.user_id == self.author_id or is_moderator(user))

    # ------------------------------------------------------------------ moderation
    def approve(self, by: Principal) -> list[Event]:
        """A moderator releases a held upload (MediaApproved)."""
        _moderator(by)
        if not self.held:
            raise StateConflictError("this item is not waiting for review")
        self.held = False
        return [
            self._event(
                MediaApproved(
                    media_id=self.media_id, author_id=self.author_id, approved_by=by.user_id
                ),
                by.user_id,
            )
        ]

    def flag(self, by: Principal, level: int, reason: str) -> list[Event]:
        """A member flags the item; enough flags (or one from a trusted member or a
        moderator) hide it at once, like a forum post (MediaFlagged, MediaHidden)."""
        if by.user_id == self.author_id:
            raise NotAllowedError("you cannot flag your own media")
        if self.state != "ready":
            raise StateConflictError("only processed media can be flagged")
        if by.user_id in self.flags:
            raise StateConflictError("you already flagged this item")
        self.flags[by.user_id] = reason
        events = [
            self._event(
                MediaFlagged(
                    media_id=self.media_id,
                    author_id=self.author_id,
                    flagger_id=by.user_id,
                    reason=reason,
                    flag_count=len(self.flags),
                ),
                by.user_id,
            )
        ]
        trusted = is_moderator(by) or level >= HIDE_AT_ONCE_LEVEL
        if not self.hidden and (trusted or len(self.flags) >= FLAGS_TO_HIDE):
            events += self._hide(f"flagged: {reason}", by.user_id if is_moderator(by) else None)
        return events

    def hide(self, by: Principal, reason: str) -> list[Event]:
        _moderator(by)
        if self.hidden:
            raise StateConflictError("this item is already hidden")
        return self._hide(reason, by.user_id)

    def _hide(self, reason: str, by: str | None) -> list[Event]:
        self.hidden = True
        self.hidden_reason = reason
        return [
            self._event(
                MediaHidden(
                    media_id=self.media_id, author_id=self.author_id, reason=reason, hidden_by=by
                ),
                by,
            )
        ]

    def restore(self, by: Principal) -> list[Event]:
        """A moderator restores a hidden item; its flags are dismissed (MediaRestored)."""
        _moderator(by)
        if not self.hidden:
            raise StateConflictError("this item is not hidden")
        self.hidden = False
        self.hidden_reason = None
        self.flags = {}
        return [
            self._event(
                MediaRestored(
                    media_id=self.media_id, author_id=self.author_id, restored_by=by.user_id
                ),
                by.user_id,
            )
        ]

    # ------------------------------------------------------------------ lifecycle
    def delete(self, reason: str) -> list[Event]:
        """Its bytes are gone (the orphan sweep deletes them first): MediaDeleted."""
        if self.state in ("processing", "deleted"):
            raise StateConflictError(f"a {self.state} item cannot be deleted")
        self.state = "deleted"
        self.renditions = {}
        return [
            self._event(
                MediaDeleted(media_id=self.media_id, author_id=self.author_id, reason=reason)
            )
        ]

    def _event(self, data: Any, actor: str | None = None) -> Event:
        return new_event(data, subject=self.media_id, actor_id=actor)


def _moderator(user: Principal) -> None:
    if not is_moderator(user):
        raise NotAllowedError("moderators only")
