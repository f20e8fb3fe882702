"""The media ids a new post carries: each must be an item of the media service that is
ready, not removed, and the author's own or public (neither held for review nor hidden).

Read from the forum's own projection of media.events (projections/media_refs.py) with ONE
``_id $in`` lookup, and only for posts that carry media: the post's write stays its one
insert. The projection is a batch behind the media service at most, so an item that just
became ready may be refused for a moment (the 422 says so)."""

from __future__ import annotations

from typing import Any

from communitykit.auth import Principal

from ..adapters.mongo import ForumDb
from ..domain.errors import InvalidCommandError
from ..projections.media_refs import COLLECTION


def unusable(ref: dict[str, Any] | None, user_id: str) -> str | None:
    """Why this reference may not be shown in ``user_id``'s post (None: it may)."""
    if ref is None:
        return "is not known (yet) to the forum"
    if ref.get("gone"):
        return "was rejected or removed"
    if not ref.get("ready"):
        return "is not processed yet"
    if ref.get("author_id") != user_id and (ref.get("held") or ref.get("hidden")):
        return "is not public"
    return None


async def require_usable(db: ForumDb, user: Principal, media_ids: list[str]) -> None:
    """422 (field ``media_ids``) naming the first id that may not be used, and why."""
    if not media_ids:
        return
    found = await db.db[COLLECTION].find({"_id": {"$in": media_ids}}).to_list(None)
    by_id = {d["_id"]: d for d in found}
    for media_id in media_ids:
        why = unusable(by_id.get(media_id), user.user_id)
        if why is not None:
            raise InvalidCommandError(f"media {media_id} {why}", field="media_ids")
