"""One function per command: load → rule → one guarded save (communitykit.repository).

Every write here changes ONE document (a media item, a gallery or a vote) together with its
events; what follows from them (attachments, levels) is derived by projections.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta

from pymongo.errors import DuplicateKeyError
from starlette.requests import Request

from communitykit.auth import Principal
from communitykit.pagination import page

from .adapters.repository import Repos, gallery_from_doc, media_from_doc
from .adapters.storage import Storage
from .config import Settings
from .domain import commands as c
from .domain.errors import (
    GalleryNotFoundError,
    MediaNotFoundError,
    NotAllowedError,
    QuotaExceededError,
    StateConflictError,
)
from .domain.gallery import Gallery, Vote, howto_id, vote_id
from .domain.model import MediaItem, MediaKind, is_moderator
from .domain.quotas import allowed, day_of, quota_for, seconds_to_midnight
from .upload import ORIGINALS, Limits, check_length, receive
from .views import (
    Accepted,
    GalleryPage,
    GalleryView,
    Helpful,
    ItemAdded,
    ItemMoved,
    ItemView,
    Moderated,
    Queue,
    QueueItem,
    media_view,
    summary,
)

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------- uploads
async def upload(
    repos: Repos, storage: Storage, settings: Settings, user: Principal, request: Request
) -> Accepted:
    """POST /media: stream the file to storage, then ONE write: the insert of the item
    (MediaUploaded in its outbox) holding its place in the author's daily quota."""
    now = datetime.now(UTC)
    day = day_of(now)
    staff = is_moderator(user)
    quota = quota_for(await repos.db.level_of(user.user_id), staff=staff)
    retry = seconds_to_midnight(now)

    def spent(kind: MediaKind) -> QuotaExceededError:
        return QuotaExceededError(
            f"you have posted today's {allowed(quota, kind)} {kind}s", retry_after=retry
        )

    # an early answer before any byte is read (reads only; the place is taken at the insert)
    free = dict(
        zip(
            ("image", "video"),
            await asyncio.gather(
                repos.db.next_slot(user.user_id, day, "image"),
                repos.db.next_slot(user.user_id, day, "video"),
            ),
            strict=True,
        )
    )
    if all(free[k] >= allowed(quota, k) for k in ("image", "video")):
        raise QuotaExceededError(
            f"you have used today's uploads ({quota.images_per_day} images, "
            f"{quota.videos_per_day} videos at your level)",
            retry_after=retry,
        )
    limits = Limits(settings.max_image_bytes, settings.max_video_bytes, quota.videos_per_day > 0)
    check_length(request, limits)

    async def on_kind(kind: MediaKind) -> None:
        """At the first bytes: refuse what the level or the day's quota cannot take."""
        if kind == "video" and quota.videos_per_day == 0:
            raise NotAllowedError(
                "videos can be posted from trust level 1 on; images are welcome", field="file"
            )
        if free[kind] >= allowed(quota, kind):
            raise spent(kind)

    up = await receive(request, storage, limits, on_kind)
    assert up.stored is not None
    item, events = MediaItem.upload(
        media_id=up.media_id,
        author_id=user.user_id,
        filename=up.filename,
        declared_type=up.declared_type,
        size=up.stored.size,
        original_key=up.key,
        alt_text=up.alt_text,
        held=quota.held,
        kind_hint=up.kind,
        now=now,
        day=day,
    )
    # The insert takes the first free place by its unique quota_slot: of uploads racing for
    # the last places exactly that many insert; a loser tries the next place, and past the
    # allowance gets a 429. Nothing else is written, so nothing is ever given back.
    n = free[up.kind]
    try:
        while True:
            if n >= allowed(quota, up.kind):
                raise spent(up.kind)
            item.quota_n = n
            try:
                await repos.media.add(item.media_id, item, events)
                break
            except DuplicateKeyError:  # a racing upload took place n (media ids are unique)
                n += 1
    except BaseException:
        await storage.delete(up.key)  # no object without its item
        raise
    return Accepted(media_id=item.media_id, state=item.state)


async def visible_media(repos: Repos, media_id: str, viewer: Principal | None) -> MediaItem:
    found = await repos.media.find(media_id)
    if found is None or not found[0].visible_to(viewer):
        raise MediaNotFoundError(f"no media {media_id!r}")
    return found[0]


# ---------------------------------------------------------------------- moderation
async def flag(repos: Repos, user: Principal, media_id: str, body: c.Flag) -> Moderated:
    """POST /media/{id}/flags (MediaFlagged; MediaHidden at the threshold)."""
    await visible_media(repos, media_id, user)
    level = await repos.db.level_of(user.user_id)
    saved = await repos.media.change(media_id, lambda m: m.flag(user, level, body.reason))
    return moderated(saved.aggregate)


async def hide(repos: Repos, user: Principal, media_id: str, body: c.Hide) -> Moderated:
    saved = await repos.media.change(media_id, lambda m: m.hide(user, body.reason))
    return moderated(saved.aggregate)


async def restore(repos: Repos, user: Principal, media_id: str) -> Moderated:
    saved = await repos.media.change(media_id, lambda m: m.restore(user))
    return moderated(saved.aggregate)


async def approve(repos: Repos, user: Principal, media_id: str) -> Moderated:
    saved = await repos.media.change(media_id, lambda m: m.approve(user))
    return moderated(saved.aggregate)


def moderated(m: MediaItem) -> Moderated:
    return Moderated(media_id=m.media_id, held=m.held, hidden=m.hidden, flag_count=len(m.flags))


async def queue(repos: Repos, user: Principal, which: str, limit: int) -> Queue:
    """GET /moderation/media: held uploads or flagged items, oldest first."""
    if not is_moderator(user):
        raise NotAllowedError("moderators only")
    query = {"held": True} if which == "held" else {"flag_count": {"$gt": 0}}
    docs = await (
        repos.db.media.find({**query, "state": {"$ne": "deleted"}}, {"outbox": 0, "idem": 0})
        .sort("created_at", 1)
        .limit(limit)
        .to_list(None)
    )
    items = [media_from_doc(d) for d in docs]
    return Queue(items=[QueueItem(media=media_view(m), flags=m.flags) for m in items])


# ---------------------------------------------------------------------- galleries
async def create_gallery(repos: Repos, user: Principal, body: c.CreateGallery) -> str:
    """POST /galleries (GalleryCreated). A how-to collection is one per product."""
    if body.kind == "howto" and not body.product_id:
        raise StateConflictError("a how-to collection belongs to a product", field="product_id")
    gid = howto_id(body.product_id) if body.kind == "howto" and body.product_id else None
    g, events = Gallery.create(
        gallery_id=gid or uuid.uuid4().hex,
        by=user,
        title=body.title,
        description=body.description,
        kind=body.kind,
        product_id=body.product_id,
        group_id=body.group_id,
        tags=body.tags,
        now=datetime.now(UTC),
    )
    from pymongo.errors import DuplicateKeyError

    try:
        await repos.galleries.add(g.gallery_id, g, events)
    except DuplicateKeyError:
        raise StateConflictError(
            f"product {body.product_id} already has its how-to collection ({gid})",
            field="product_id",
        ) from None
    return g.gallery_id


async def add_item(repos: Repos, user: Principal, gallery_id: str, body: c.AddItem) -> ItemAdded:
    """POST /galleries/{id}/items (GalleryItemAdded): one update of the gallery."""
    media = await visible_media(repos, body.media_id, user)
    now = datetime.now(UTC)
    saved = await repos.galleries.change(
        gallery_id,
        lambda g: g.add(
            media, user, caption=body.caption, alt_text=body.alt_text, position=body.position,
            now=now,
        ),
    )  # fmt: skip
    at = saved.aggregate.position_of(media.media_id)
    return ItemAdded(gallery_id=gallery_id, media_id=media.media_id, position=at or 0)


async def move_item(
    repos: Repos, user: Principal, gallery_id: str, media_id: str, body: c.MoveItem
) -> ItemMoved:
    saved = await repos.galleries.change(
        gallery_id, lambda g: g.move(media_id, body.position, user)
    )
    at = saved.aggregate.position_of(media_id)
    return ItemMoved(gallery_id=gallery_id, media_id=media_id, position=at or 0)


async def remove_item(repos: Repos, user: Principal, gallery_id: str, media_id: str) -> None:
    await repos.galleries.change(gallery_id, lambda g: g.remove(media_id, user))


async def vote(
    repos: Repos, user: Principal, gallery_id: str, media_id: str, body: c.Vote
) -> Helpful:
    """PUT .../vote: one guarded upsert of the (gallery, item, voter) vote (MediaVoted)."""
    g = await repos.galleries.get(gallery_id)
    at = g.position_of(media_id)
    if at is None:
        raise MediaNotFoundError(f"media {media_id!r} is not in this gallery")
    author = g.items[at].media_author_id
    await repos.votes.change(
        vote_id(gallery_id, media_id, user.user_id),
        lambda v: v.cast(body.value),
        create=lambda: Vote(gallery_id, media_id, user.user_id, author),
    )
    counts = await repos.db.helpful_counts(gallery_id)
    return Helpful(
        gallery_id=gallery_id, media_id=media_id, value=body.value, helpful=counts.get(media_id, 0)
    )


async def gallery_items(
    repos: Repos, g: Gallery, viewer: Principal | None
) -> list[tuple[ItemView, MediaItem]]:
    """The gallery's items the viewer may see, in order, with their media."""
    ids = [it.media_id for it in g.items]
    docs = await repos.db.media.find({"_id": {"$in": ids}}, {"outbox": 0, "idem": 0}).to_list(None)
    media = {d["_id"]: media_from_doc(d) for d in docs}
    counts = await repos.db.helpful_counts(g.gallery_id)
    out = []
    for it in g.items:
        m = media.get(it.media_id)
        if m is None or m.state != "ready" or not m.visible_to(viewer):
            continue
        view = ItemView(
            media_id=m.media_id,
            caption=it.caption,
            alt_text=it.alt_text if it.alt_text is not None else m.alt_text,
            added_by=it.added_by,
            helpful=counts.get(m.media_id, 0),
            media=media_view(m),
        )
        out.append((view, m))
    return out


async def get_gallery(repos: Repos, gallery_id: str, viewer: Principal | None) -> GalleryView:
    g = await repos.galleries.get(gallery_id)
    items = await gallery_items(repos, g, viewer)
    s = summary(g)
    return GalleryView(**s.model_dump(exclude={"item_count"}), items=[view for view, _ in items])


async def list_galleries(
    repos: Repos,
    *,
    product_id: str | None,
    group_id: str | None,
    tag: str | None,
    kind: str | None,
    limit: int,
    cursor: str | None,
) -> GalleryPage:
    query: dict[str, object] = {}
    if product_id:
        query["product_id"] = product_id
    if group_id:
        query["group_id"] = group_id
    if tag:
        query["tags"] = tag.lower()
    if kind:
        query["kind"] = kind
    docs, nxt = await page(
        repos.db.galleries,
        query,
        sort="created_at",
        limit=limit,
        cursor=cursor,
        projection={"outbox": 0, "idem": 0},
    )
    return GalleryPage(items=[summary(gallery_from_doc(d)) for d in docs], next_cursor=nxt)


async def require_gallery(repos: Repos, gallery_id: str) -> Gallery:
    found = await repos.galleries.find(gallery_id)
    if found is None:
        raise GalleryNotFoundError(f"no gallery {gallery_id!r}")
    return found[0]


# ---------------------------------------------------------------------- lifecycle
async def sweep(repos: Repos, storage: Storage, settings: Settings, unnamed: set[str]) -> int:
    """Delete items attached to no gallery ``orphan_after_seconds`` after their upload
    (MediaDeleted), abort multipart uploads abandoned by a crashed process, and delete the
    originals that no item names (a process killed between an upload's last byte and its
    insert: the client never had its 202). An original is deleted when no item named it at
    two passes in a row (``unnamed`` carries the first sighting): its age alone cannot tell,
    since S3 dates an object completed from parts by the start of its upload.

    A watermark (the creation time of the last item looked at) keeps each pass to the items
    that came of age since the last one: the cost never grows with the history (an original
    lives only until its item is processed, so ``originals/`` holds only the uploads in
    flight)."""
    from .projections.attachments import AttachmentsProjection

    await storage.abort_stale_uploads(settings.stale_upload_seconds)
    stale = {
        k.split("/", 1)[1]: k
        for k in await storage.stale_keys(ORIGINALS, settings.stale_upload_seconds)
    }
    if stale:
        named = repos.db.media.find({"_id": {"$in": sorted(stale)}}, {"_id": 1})
        have = {d["_id"] async for d in named}
        now_unnamed = {k for m, k in stale.items() if m not in have}
        await storage.delete(*(now_unnamed & unnamed))
        unnamed.clear()
        unnamed |= now_unnamed
    attachments = AttachmentsProjection(repos.db)
    marks = repos.db.db["sweeps"]
    mark = await marks.find_one({"_id": "orphans"})
    since = mark["at"] if mark else datetime(1970, 1, 1, tzinfo=UTC)
    cutoff = datetime.now(UTC) - timedelta(seconds=settings.orphan_after_seconds)
    docs = await (
        repos.db.media.find(
            {"state": {"$in": ["ready", "rejected"]}, "created_at": {"$gt": since, "$lte": cutoff}},
            {"outbox": 0, "idem": 0},
        )
        .sort("created_at", 1)
        .limit(200)
        .to_list(None)
    )
    deleted = 0
    for d in docs:
        m = media_from_doc(d)
        if not await attachments.attached(m.media_id):
            await storage.delete(m.original_key, *(r.key for r in m.renditions.values()))
            try:
                await repos.media.change(m.media_id, lambda x: x.delete("orphan"))
                deleted += 1
            except StateConflictError:
                pass  # another replica's sweep got there first
        await marks.update_one({"_id": "orphans"}, {"$max": {"at": d["created_at"]}}, upsert=True)
    return deleted
