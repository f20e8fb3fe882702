"""The three aggregates stored with the kit's write idiom (communitykit.repository): one
document per aggregate, every write ONE version-guarded update carrying its events (outbox)."""

from __future__ import annotations

from dataclasses import asdict

from communitykit.repository import Repository
from schemas import topics

from ..domain.errors import GalleryNotFoundError, MediaNotFoundError
from ..domain.gallery import Gallery, Item, Vote
from ..domain.model import MediaItem, Rendition
from .mongo import Doc, MediaDb, quota_slot

TOPIC = topics.MEDIA_EVENTS


def media_to_doc(m: MediaItem) -> Doc:
    d = asdict(m)
    d.pop("media_id")
    d["renditions"] = {k: asdict(r) for k, r in m.renditions.items()}
    # indexed by the moderation queue (flags is a map: its size is not queryable everywhere)
    d["flag_count"] = len(m.flags)
    if m.quota_n is not None:  # unique: one item per place of the daily quota
        d["quota_slot"] = quota_slot(m.author_id, m.day, m.kind_hint, m.quota_n)
    return d


def media_from_doc(d: Doc) -> MediaItem:
    fields = {k: v for k, v in d.items() if k in MediaItem.__dataclass_fields__}
    fields["renditions"] = {k: Rendition(**r) for k, r in (d.get("renditions") or {}).items()}
    fields["flags"] = dict(d.get("flags") or {})
    return MediaItem(media_id=d["_id"], **fields)


def gallery_to_doc(g: Gallery) -> Doc:
    d = asdict(g)
    d.pop("gallery_id")
    return d


def gallery_from_doc(d: Doc) -> Gallery:
    fields = {k: v for k, v in d.items() if k in Gallery.__dataclass_fields__}
    fields["items"] = [Item(**i) for i in d.get("items") or []]
    fields["tags"] = list(d.get("tags") or [])
    return Gallery(gallery_id=d["_id"], **fields)


def vote_to_doc(v: Vote) -> Doc:
    return asdict(v)


def vote_from_doc(d: Doc) -> Vote:
    return Vote(**{k: v for k, v in d.items() if k in Vote.__dataclass_fields__})


def media_repo(db: MediaDb) -> Repository[MediaItem]:
    return Repository(
        db.media,
        TOPIC,
        load=media_from_doc,
        dump=media_to_doc,
        missing=lambda i: MediaNotFoundError(f"no media {i!r}"),
    )


def gallery_repo(db: MediaDb) -> Repository[Gallery]:
    return Repository(
        db.galleries,
        TOPIC,
        load=gallery_from_doc,
        dump=gallery_to_doc,
        missing=lambda i: GalleryNotFoundError(f"no gallery {i!r}"),
    )


def vote_repo(db: MediaDb) -> Repository[Vote]:
    return Repository(db.votes, TOPIC, load=vote_from_doc, dump=vote_to_doc)


class Repos:
    """The repositories of one database."""

    def __init__(self, db: MediaDb) -> None:
        self.db = db
        self.media = media_repo(db)
        self.galleries = gallery_repo(db)
        self.votes = vote_repo(db)
