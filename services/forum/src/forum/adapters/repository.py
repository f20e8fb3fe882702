"""The forum's aggregates on the kit's write idiom (communitykit.repository).

Each repository loads one kind of aggregate from its one document, lets a command decide,
and saves the changed fields with the command's events in the document's outbox, in ONE
``update_one`` guarded by the document's ``version`` (the kit's loop re-runs the command on
a lost race: the only retry loop of the write side). Several views of one document (a post's
text vs. its moderation state) are several repositories over one collection: each diffs its
own fields, and the shared ``version`` guards them against each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from communitykit.repository import Repository
from schemas import topics

from ..domain.errors import GroupNotFoundError, PostNotFoundError, ThreadNotFoundError
from ..domain.group import Group
from ..domain.moderation import PostModeration
from ..domain.post import Post
from ..domain.thread import Thread
from ..domain.vote import Vote
from .documents import group_fields, moderation_fields, to_group, to_moderation
from .mongo import Doc, ForumDb

TOPIC = topics.FORUM_EVENTS


def _thread_missing(i: str) -> Exception:
    return ThreadNotFoundError(f"no thread {i!r}")


def _post_missing(i: str) -> Exception:
    return PostNotFoundError(f"no post {i!r}")


def threads(db: ForumDb, *, deleted_ok: bool = False) -> Repository[Thread]:
    """Thread aggregates; a removed thread is missing unless ``deleted_ok``."""
    return Repository(
        db.threads,
        TOPIC,
        load=Thread.from_doc,
        dump=Thread.to_doc,
        missing=_thread_missing,
        live=None if deleted_ok else {"deleted": {"$ne": True}},
    )


def posts(db: ForumDb, *, deleted_ok: bool = False) -> Repository[Post]:
    """A post's text and life (edit, delete); a deleted post is missing unless
    ``deleted_ok``."""
    return Repository(
        db.posts,
        TOPIC,
        load=Post.from_doc,
        dump=Post.to_doc,
        missing=_post_missing,
        projection={"outbox": 0, "idem": 0},
        live=None if deleted_ok else {"deleted": False},
    )


@dataclass
class Moderated:
    """A post's moderation state, replaced by each decision (PostModeration is immutable)."""

    state: PostModeration


def moderation(db: ForumDb) -> Repository[Moderated]:
    return Repository(
        db.posts,
        TOPIC,
        load=lambda d: Moderated(to_moderation(d)),
        dump=lambda m: moderation_fields(m.state),
        missing=_post_missing,
        projection={"outbox": 0, "idem": 0, "body": 0},
        live={"deleted": False},
    )


def votes(db: ForumDb) -> Repository[Vote]:
    return Repository(db.votes, TOPIC, load=Vote.from_doc, dump=Vote.to_doc)


@dataclass
class Managed:
    """A group, replaced by each decision (Group is immutable)."""

    group: Group


def groups(db: ForumDb) -> Repository[Managed]:
    return Repository(
        db.groups,
        TOPIC,
        load=lambda d: Managed(to_group(d)),
        dump=lambda m: group_fields(m.group),
        missing=lambda i: GroupNotFoundError(f"no group {i!r}"),
    )


@dataclass
class Membership:
    group_id: str
    user_id: str
    member: bool = False
    role: str | None = None
    joined_at: Any = None
    updated_at: Any = None

    @staticmethod
    def from_doc(d: Doc) -> Membership:
        return Membership(
            d["group_id"],
            d["user_id"],
            bool(d.get("member")),
            d.get("role"),
            d.get("joined_at"),
            d.get("updated_at"),
        )

    def to_doc(self) -> Doc:
        return {
            "group_id": self.group_id,
            "user_id": self.user_id,
            "member": self.member,
            "role": self.role,
            "joined_at": self.joined_at,
            "updated_at": self.updated_at,
        }


def memberships(db: ForumDb) -> Repository[Membership]:
    return Repository(db.memberships, TOPIC, load=Membership.from_doc, dump=Membership.to_doc)


@dataclass
class ReviewClaim:
    """(product, user) → the thread of that user's review of that product."""

    product_id: str
    user_id: str
    thread_id: str
    at: Any

    @staticmethod
    def from_doc(d: Doc) -> ReviewClaim:
        return ReviewClaim(d["product_id"], d["user_id"], d["thread_id"], d["at"])

    def to_doc(self) -> Doc:
        return {
            "product_id": self.product_id,
            "user_id": self.user_id,
            "thread_id": self.thread_id,
            "at": self.at,
        }


def reviews(db: ForumDb) -> Repository[ReviewClaim]:
    return Repository(db.reviews, TOPIC, load=ReviewClaim.from_doc, dump=ReviewClaim.to_doc)
