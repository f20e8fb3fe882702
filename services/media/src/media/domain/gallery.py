"""The gallery aggregate (an ordered list of items) and the helpful vote (pure Python).

A gallery is one document: its items are part of it, so adding, moving and removing an item
is one guarded update of that document. A ``howto`` gallery is the staff-curated collection
of one product (one per product: its id is derived from the product id).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from communitykit.auth import Principal
from schemas import Envelope, new_event
from schemas.media import (
    GalleryCreated,
    GalleryItemAdded,
    GalleryItemMoved,
    GalleryItemRemoved,
    GalleryKind,
    MediaVoted,
)

from .errors import MediaNotFoundError, NotAllowedError, StateConflictError
from .model import MediaItem, is_moderator

Event = Envelope[Any]
#: the most items one gallery holds (its document stays small)
MAX_ITEMS = 200


def howto_id(product_id: str) -> str:
    """The one staff-curated how-to collection of a product."""
    return f"howto-{product_id}"


def is_staff(user: Principal) -> bool:
    return user.has("staff")


@dataclass
class Item:
    media_id: str
    media_author_id: str
    added_by: str
    added_at: datetime
    caption: str = ""
    alt_text: str | None = None


@dataclass
class Gallery:
    gallery_id: str
    owner_id: str
    title: str
    description: str
    kind: GalleryKind
    created_at: datetime
    product_id: str | None = None
    group_id: str | None = None
    tags: list[str] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)

    @classmethod
    def create(
        cls,
        *,
        gallery_id: str,
        by: Principal,
        title: str,
        description: str,
        kind: GalleryKind,
        product_id: str | None,
        group_id: str | None,
        tags: list[str],
        now: datetime,
    ) -> tuple[Gallery, list[Event]]:
        if kind == "howto" and not is_staff(by):
            raise NotAllowedError("how-to collections are curated by staff")
        g = cls(
            gallery_id=gallery_id,
            owner_id=by.user_id,
            title=title,
            description=description,
            kind=kind,
            created_at=now,
            product_id=product_id,
            group_id=group_id,
            tags=tags,
        )
        data = GalleryCreated(
            gallery_id=gallery_id,
            owner_id=by.user_id,
            title=title,
            kind=kind,
            product_id=product_id,
            group_id=group_id,
        )
        return g, [g._event(data, by.user_id)]

    def curator(self, user: Principal) -> bool:
        """May arrange and remove any item: the owner (staff for a how-to), moderators."""
        if self.kind == "howto":
            return is_staff(user) or is_moderator(user)
        return user.user_id == self.owner_id or is_moderator(user)

    def position_of(self, media_id: str) -> int | None:
        return next((i for i, it in enumerate(self.items) if it.media_id == media_id), None)

    def add(
        self,
        media: MediaItem,
        by: Principal,
        *,
        caption: str,
        alt_text: str | None,
        position: int | None,
        now: datetime,
    ) -> list[Event]:
        """Add a ready item (GalleryItemAdded). Members add their own media to community
        galleries; staff curate how-to collections with anyone's."""
        if self.kind == "howto":
            if not is_staff(by):
                raise NotAllowedError("how-to collections are curated by staff")
        elif media.author_id != by.user_id and not self.curator(by):
            raise NotAllowedError("you can add only your own media to this gallery")
        if media.state != "ready" or media.hidden:
            raise StateConflictError(
                f"media {media.media_id} is {media.state if not media.hidden else 'hidden'}: "
                "only ready media can be added",
                field="media_id",
            )
        if self.position_of(media.media_id) is not None:
            raise StateConflictError("this media is already in the gallery", field="media_id")
        if len(self.items) >= MAX_ITEMS:
            raise StateConflictError(f"a gallery holds at most {MAX_ITEMS} items")
        at = len(self.items) if position is None else min(position, len(self.items))
        self.items.insert(
            at,
            Item(
                media_id=media.media_id,
                media_author_id=media.author_id,
                added_by=by.user_id,
                added_at=now,
                caption=caption,
                alt_text=alt_text,
            ),
        )
        data = GalleryItemAdded(
            gallery_id=self.gallery_id,
            media_id=media.media_id,
            media_author_id=media.author_id,
            added_by=by.user_id,
            position=at,
        )
        return [self._event(data, by.user_id)]

    def move(self, media_id: str, position: int, by: Principal) -> list[Event]:
        if not self.curator(by):
            raise NotAllowedError("only the gallery's curators arrange its items")
        at = self._require(media_id)
        item = self.items.pop(at)
        to = min(position, len(self.items))
        self.items.insert(to, item)
        if to == at:
            return []
        data = GalleryItemMoved(
            gallery_id=self.gallery_id, media_id=media_id, moved_by=by.user_id, position=to
        )
        return [self._event(data, by.user_id)]

    def remove(self, media_id: str, by: Principal) -> list[Event]:
        at = self._require(media_id)
        item = self.items[at]
        if not (self.curator(by) or by.user_id in (item.added_by, item.media_author_id)):
            raise NotAllowedError("you cannot remove this item")
        del self.items[at]
        data = GalleryItemRemoved(
            gallery_id=self.gallery_id, media_id=media_id, removed_by=by.user_id
        )
        return [self._event(data, by.user_id)]

    def _require(self, media_id: str) -> int:
        at = self.position_of(media_id)
        if at is None:
            raise MediaNotFoundError(f"media {media_id!r} is not in this gallery")
        return at

    def _event(self, data: Any, actor: str | None) -> Event:
        return new_event(data, subject=self.gallery_id, actor_id=actor)


def vote_id(gallery_id: str, media_id: str, voter_id: str) -> str:
    return f"{gallery_id}:{media_id}:{voter_id}"


@dataclass
class Vote:
    """One member's "helpful" vote on one gallery item (0 withdraws it)."""

    gallery_id: str
    media_id: str
    voter_id: str
    target_author_id: str
    value: Literal[0, 1] = 0

    def cast(self, value: Literal[0, 1]) -> list[Event]:
        if self.voter_id == self.target_author_id:
            raise NotAllowedError("you cannot vote on your own media")
        previous = self.value
        if value == previous:
            return []
        self.value = value
        data = MediaVoted(
            target_id=self.media_id,
            gallery_id=self.gallery_id,
            target_author_id=self.target_author_id,
            voter_id=self.voter_id,
            value=value,
            previous_value=previous,
        )
        # keyed by the media id: every vote on one item stays in order
        return [new_event(data, subject=self.media_id, actor_id=self.voter_id)]
