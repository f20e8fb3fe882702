"""Events of the media service (topic ``media.events``; key: media id, gallery id for gallery
events).

Media items move ``processing`` → ``ready`` | ``rejected`` (a worker consuming
``MediaUploaded``); galleries group ready items. ``MediaVoted`` carries what the reputation
service needs for its "helpful vote: +5 to the author" rule (same shape as a VoteCast: target,
target author, voter, value and previous value).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from .envelope import EventData, register

MediaKind = Literal["image", "video"]
GalleryKind = Literal["community", "howto"]


class MediaEvent(EventData):
    producer: ClassVar[str] = "media"


@register
class MediaUploaded(MediaEvent):
    """The bytes are stored (not yet checked): the worker takes it from here."""

    event_name: ClassVar[str] = "MediaUploaded"
    media_id: str
    author_id: str
    #: bytes received
    size: int = Field(ge=1)
    #: the client's file name (a base name: never trusted for the type)
    filename: str
    #: the Content-Type the client declared for the part (informational only)
    declared_type: str
    #: uploads of level-0 members wait for a moderator before anyone else sees them
    held: bool = False


@register
class MediaProcessed(MediaEvent):
    event_name: ClassVar[str] = "MediaProcessed"
    media_id: str
    author_id: str
    kind: MediaKind
    #: the type sniffed from the bytes
    content_type: str
    width: int = Field(ge=1)
    height: int = Field(ge=1)
    duration_seconds: float | None = None
    #: rendition names (``w320``, ``w640``, ``w1280``; ``video``, ``poster``)
    renditions: list[str]


@register
class MediaRejected(MediaEvent):
    event_name: ClassVar[str] = "MediaRejected"
    media_id: str
    author_id: str
    reason: str


@register
class MediaApproved(MediaEvent):
    """A moderator released a held upload (a level-0 member's) to everyone."""

    event_name: ClassVar[str] = "MediaApproved"
    media_id: str
    author_id: str
    approved_by: str


@register
class MediaFlagged(MediaEvent):
    event_name: ClassVar[str] = "MediaFlagged"
    media_id: str
    author_id: str
    flagger_id: str
    reason: str
    flag_count: int = Field(ge=1)


@register
class MediaHidden(MediaEvent):
    """Hidden from everyone but its author and moderators; the author's notice."""

    event_name: ClassVar[str] = "MediaHidden"
    media_id: str
    author_id: str
    reason: str
    #: the moderator, or None when flags hid it
    hidden_by: str | None = None


@register
class MediaRestored(MediaEvent):
    event_name: ClassVar[str] = "MediaRestored"
    media_id: str
    author_id: str
    restored_by: str


@register
class MediaDeleted(MediaEvent):
    """Its bytes are gone (``orphan``: never attached within the grace period)."""

    event_name: ClassVar[str] = "MediaDeleted"
    media_id: str
    author_id: str
    reason: str


@register
class MediaVoted(MediaEvent):
    """``community.media.MediaVoted.v1``: a "helpful" vote on a gallery item (value 0 or +1).

    Reputation can treat it as an up-vote on a media post (+5 to ``target_author_id``); the
    key is the media id, so every vote of one item is in order."""

    event_name: ClassVar[str] = "MediaVoted"
    target_type: Literal["media"] = "media"
    target_id: str
    gallery_id: str
    target_author_id: str
    voter_id: str
    value: Literal[0, 1]
    previous_value: Literal[0, 1]


@register
class GalleryCreated(MediaEvent):
    event_name: ClassVar[str] = "GalleryCreated"
    gallery_id: str
    owner_id: str
    title: str
    kind: GalleryKind
    product_id: str | None = None
    group_id: str | None = None


@register
class GalleryItemAdded(MediaEvent):
    event_name: ClassVar[str] = "GalleryItemAdded"
    gallery_id: str
    media_id: str
    media_author_id: str
    added_by: str
    position: int = Field(ge=0)


@register
class GalleryItemMoved(MediaEvent):
    event_name: ClassVar[str] = "GalleryItemMoved"
    gallery_id: str
    media_id: str
    moved_by: str
    position: int = Field(ge=0)


@register
class GalleryItemRemoved(MediaEvent):
    event_name: ClassVar[str] = "GalleryItemRemoved"
    gallery_id: str
    media_id: str
    removed_by: str
