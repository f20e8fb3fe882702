"""One review per user and product (SPEC 3): a unique-keyed ``reviews`` document.

The claim is ONE insert of ``_id`` = (product, user): the store's unique ``_id`` decides
between concurrent creates on any number of replicas (no read-then-write). The claim is
written before the review's thread; a claim whose thread never appeared (the writer died in
between, older than ``STALE_SECONDS``) or whose review was deleted is taken over by ONE
update guarded by the thread id it held.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from schemas import Envelope

from ..adapters import repository as repos
from ..adapters.mongo import Doc, ForumDb
from ..adapters.repository import ReviewClaim
from ..domain.errors import ConflictError

#: a claim younger than this whose thread is not there yet is a create in flight
STALE_SECONDS = 60


def review_key(product_id: str, user_id: str) -> str:
    # length-prefixed: no two (product, user) pairs give the same key
    return f"{len(product_id)}:{product_id}:{user_id}"


async def claim(db: ForumDb, product_id: str, user_id: str, thread_id: str, at: datetime) -> None:
    """Claim the (product, user) review for ``thread_id`` or raise 409 naming the first.

    One command on the claim document (communitykit.repository): inserted if there is none
    (the unique ``_id`` decides concurrent first reviews), kept if it is already ours (a
    retry with the same Idempotency-Key), taken over if the review it holds was deleted or
    its create died before the thread (one update guarded by the version it was read at)."""
    repo = repos.reviews(db)
    key = review_key(product_id, user_id)
    found = await repo.find(key)
    held = found[0].thread_id if found is not None else None
    if found is not None and held != thread_id:
        first = await db.threads.find_one(
            {"_id": held}, {"deleted": 1, "opening_post_id": 1, "product_id": 1, "author_id": 1}
        )
        if first is not None and _is_review(first, product_id, user_id):
            raise ConflictError(
                "you have already reviewed this product; edit that review instead",
                review_thread_id=first["_id"],
                review_post_id=first.get("opening_post_id"),
            )
        if first is None and found[0].at > at - timedelta(seconds=STALE_SECONDS):
            raise ConflictError(
                "your review of this product is being created", review_thread_id=held
            )

    def take(c: ReviewClaim) -> list[Envelope[Any]]:
        if c.thread_id == thread_id:
            return []  # ours (inserted now, or by a retry of this request)
        if c.thread_id != held:  # another create claimed it after we looked
            raise ConflictError(
                "your review of this product is being created", review_thread_id=c.thread_id
            )
        c.thread_id, c.at = thread_id, at  # the first review is gone: take the claim over
        return []

    await repo.change(key, take, create=lambda: ReviewClaim(product_id, user_id, thread_id, at))


def _is_review(t: Doc, product_id: str, user_id: str) -> bool:
    return (
        not t.get("deleted") and t.get("product_id") == product_id and t.get("author_id") == user_id
    )
