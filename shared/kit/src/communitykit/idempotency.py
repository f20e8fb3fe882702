"""``Idempotency-Key`` on creates, atomic with the create itself (no transactions, no locks).

A client that retries a create (a timeout, a dropped connection) sends the same
``Idempotency-Key`` header again. The contract, for every ``POST`` that creates something:

* same user + same key + same request → the same status and response body as the first
  time (with ``Idempotent-Replayed: true``), and nothing is created twice;
* same user + same key + a *different* request → ``422`` problem+json,
  ``field: "Idempotency-Key"`` (as the IETF draft "The Idempotency-Key HTTP Header Field"
  recommends for a reused key); nothing is created;
* different users never see each other's keys; no key → an ordinary create.

How it stays atomic with only single-document operations: the created document's ``_id``
is derived from (scope, user, key) (:meth:`Idempotency.id`), and the request's fingerprint
and the response are stored *on that document* (``idem``), in the same ``insert_one``.
A retry — or a concurrent twin of the first request — inserts the same ``_id``; the store's
unique ``_id`` lets exactly one insert win, the other gets a duplicate-key error, reads the
winner's document and answers from its ``idem``. There is no "in flight" state to expire
or lock: the record exists exactly when the created thing exists, for as long as it does.

A create that writes several documents (the forum's opening post, then its thread) derives
every id from the key (``idem.id("post")``) and makes the *last* insert — the one that makes
the creation visible — carry ``idem``; earlier inserts of a retry after a crash then hit
their own ``_id`` and are skipped (:func:`insert_ignoring_duplicate`).

Usage::

    idem = Idempotency.of("ideas", user.user_id, key, cmd)      # None when no key was sent
    if idem and (done := await replay(coll, idem)):             # cheap fast path
        return done
    doc_id = idem.id() if idem else new_id()
    ...
    return await insert_once(coll, idem, doc, status=201, body={"idea_id": doc_id})
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any

import orjson
from fastapi import Header, Response
from pydantic import BaseModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from .problems import InvalidInputError

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
#: the field of a created document that holds its idempotency record
FIELD = "idem"

_NAMESPACE = uuid.UUID("6f1c3c1e-2f7a-4f55-9d7e-1f0b8c4f1a11")

#: the header as a FastAPI parameter: ``key: IdempotencyKey = None``
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=HEADER,
        max_length=MAX_KEY_LENGTH,
        description=(
            "Optional. A retry with the same key and the same body (by the same user) gets "
            "the first response again and creates nothing; the same key with a different "
            "body is 422."
        ),
    ),
]


class IdempotencyKeyReusedError(InvalidInputError):
    title = "Idempotency-Key reused"


@dataclass(frozen=True)
class Created:
    """The response of a create: the first one, or its replay."""

    status: int
    body: dict[str, Any]
    replayed: bool = False

    def apply(self, response: Response) -> dict[str, Any]:
        """Set the status (and the replay header) on FastAPI's ``response``; return the body."""
        response.status_code = self.status
        if self.replayed:
            response.headers[REPLAYED_HEADER] = "true"
        return self.body


def fingerprint(payload: Any) -> str:
    """SHA-256 of the request's canonical JSON (validated command and path parameters):
    key order and whitespace of the raw body do not matter, the values do."""
    if isinstance(payload, BaseModel):
        payload = payload.model_dump(mode="json")
    elif isinstance(payload, dict):
        payload = {
            k: v.model_dump(mode="json") if isinstance(v, BaseModel) else v
            for k, v in payload.items()
        }
    raw = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    return hashlib.sha256(raw).hexdigest()


def check_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise InvalidInputError(
            f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable ASCII characters", field=HEADER
        )
    return key


@dataclass(frozen=True)
class Idempotency:
    """One keyed create: who (``user_id``), what kind (``scope``), which request."""

    scope: str
    user_id: str
    key: str
    fingerprint: str = field(repr=False)

    @classmethod
    def of(cls, scope: str, user_id: str, key: str | None, payload: Any) -> Idempotency | None:
        """None when the request carries no key. ``payload``: everything that defines the
        request (the command, plus path parameters such as the parent's id)."""
        if key is None:
            return None
        return cls(scope, user_id, check_key(key), fingerprint(payload))

    def id(self, part: str = "") -> str:
        """A deterministic document id (32 hex, like ``uuid4().hex``) for this create;
        ``part`` names a second document of the same create."""
        name = "\x00".join(("community", self.scope, self.user_id, self.key, part))
        return uuid.uuid5(_NAMESPACE, name).hex

    def record(self, status: int, body: dict[str, Any]) -> dict[str, Any]:
        """The fields to store on the created document."""
        return {
            FIELD: {
                "scope": self.scope,
                "user_id": self.user_id,
                "key": self.key,
                "fingerprint": self.fingerprint,
                "status": status,
                "body": body,
            }
        }

    def answer(self, doc: dict[str, Any]) -> Created:
        """The stored response of ``doc``, or 422 if it was created by another request."""
        rec = doc.get(FIELD)
        if not isinstance(rec, dict) or rec.get("user_id") != self.user_id:
            # an id derived from this key but not created by it: cannot happen short of a
            # hash collision; refuse rather than leak someone else's response
            raise IdempotencyKeyReusedError(
                f"this {HEADER} cannot be used for this request", field=HEADER
            )
        if rec.get("fingerprint") != self.fingerprint or rec.get("scope") != self.scope:
            raise IdempotencyKeyReusedError(
                f"this {HEADER} was already used with a different request; "
                "use a new key for a new request",
                field=HEADER,
            )
        return Created(int(rec["status"]), dict(rec["body"]), replayed=True)


async def replay(coll: AsyncCollection[Any], idem: Idempotency | None) -> Created | None:
    """The stored response if this key already created something (422 on a different
    request), else None. Only a fast path: :func:`insert_once` decides races."""
    if idem is None:
        return None
    doc = await coll.find_one({"_id": idem.id()}, {FIELD: 1})
    return None if doc is None else idem.answer(doc)


async def insert_once(
    coll: AsyncCollection[Any],
    idem: Idempotency | None,
    doc: dict[str, Any],
    *,
    status: int,
    body: dict[str, Any],
) -> Created:
    """Insert ``doc`` (whose ``_id`` must be ``idem.id()`` when keyed) with its idempotency
    record; if a request with the same key got there first, answer as it did.

    A duplicate-key error that is not about this key (another unique index, such as a
    group's name) is re-raised for the caller to map."""
    if idem is None:
        await coll.insert_one(doc)
        return Created(status, body)
    if doc.get("_id") != idem.id():
        raise ValueError("a keyed create must insert the document with _id = idem.id()")
    try:
        await coll.insert_one({**doc, **idem.record(status, body)})
    except DuplicateKeyError:
        first = await coll.find_one({"_id": idem.id()}, {FIELD: 1})
        if first is None:
            raise  # another unique key (e.g. a name), not this request's
        return idem.answer(first)
    return Created(status, body)


async def insert_ignoring_duplicate(coll: AsyncCollection[Any], doc: dict[str, Any]) -> bool:
    """Insert a document of a keyed create that precedes the one carrying ``idem``; False
    when a previous attempt of the same create inserted it already (same derived ``_id``)."""
    try:
        await coll.insert_one(doc)
    except DuplicateKeyError:
        return False
    return True
