"""One review per user and product (SPEC 3): a unique-keyed ``reviews`` document.

The claim is ONE insert of ``_id`` = (product, user): the store's unique ``_id`` decides
between concurrent creates on any number of replicas (no read-then-write). The claim is
written before the review's thread; a claim whose thread never appeared (the writer died in
between, older than ``STALE_SECONDS``) or whose review was deleted is taken over by ONE
update guarded by the thread id it held.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pymongo.errors import DuplicateKeyError

from ..adapters.mongo import Doc, ForumDb
from ..domain.errors import ConflictError

#: a claim younger than this whose thread is not there yet is a create in flight
STALE_SECONDS = 60
MAX_TRIES = 5


def review_key(product_id: str, user_id: str) -> str:
    # length-prefixed: no two (product, user) pairs give the same key
    return f"{len(product_id)}:{product_id}:{user_id}"


async def claim(db: ForumDb, product_id: str, user_id: str, thread_id: str, at: datetime) -> None:
    """Claim the (product, user) review for ``thread_id`` or raise 409 naming the first."""
    key = review_key(product_id, user_id)
    for _ in range(MAX_TRIES):
        try:
            await db.reviews.insert_one(
                {
                    "_id": key,
                    "product_id": product_id,
                    "user_id": user_id,
                    "thread_id": thread_id,
                    "at": at,
                }
            )
            return
        except DuplicateKeyError:
            pass
        held = await db.reviews.find_one({"_id": key})
        if held is None:
            continue  # (never deleted; defensive) try the insert again
        if held["thread_id"] == thread_id:
            return  # our own claim: a retry of the same request (Idempotency-Key)
        first = await db.threads.find_one(
            {"_id": held["thread_id"]},
            {"deleted": 1, "opening_post_id": 1, "product_id": 1, "author_id": 1},
        )
        if first is not None and _is_review(first, product_id, user_id):
            raise ConflictError(
                "you have already reviewed this product; edit that review instead",
                review_thread_id=first["_id"],
                review_post_id=first.get("opening_post_id"),
            )
        if first is None and held["at"] > at - timedelta(seconds=STALE_SECONDS):
            raise ConflictError(
                "your review of this product is being created", review_thread_id=held["thread_id"]
            )
        # the first review was deleted, or its create died before the thread: take it over
        res = await db.reviews.update_one(
            {"_id": key, "thread_id": held["thread_id"]},
            {"$set": {"thread_id": thread_id, "at": at}},
        )
        if res.matched_count:
            return
    raise ConflictError("your review of this product is changing too fast; try again")


def _is_review(t: Doc, product_id: str, user_id: str) -> bool:
    return (
        not t.get("deleted") and t.get("product_id") == product_id and t.get("author_id") == user_id
    )
