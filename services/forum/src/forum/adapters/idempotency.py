"""``Idempotency-Key`` on creates, by deterministic ids (no claim document, no lock).

The ids of what a create makes are derived from (user, route, key): a retry of the same
request writes the same documents, whose unique ``_id`` makes the store refuse the second
copy, and the response is rebuilt from what is stored. Each created document keeps the
fingerprint of the request that made it; the same key with another body is a 422.

Without a key, ids are random (every POST creates). The interface (``Idem``) is what the
kit's helper (communitykit.idempotency) would plug into for services without natural ids.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

import orjson
from pydantic import BaseModel

from ..domain.errors import InvalidCommandError


class IdempotencyKeyReusedError(InvalidCommandError):
    title = "Idempotency-Key reused"


def fingerprint(body: BaseModel, *scope: str) -> str:
    raw = orjson.dumps([body.model_dump(mode="json"), scope], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True)
class Idem:
    """The request's idempotency: its key (or None) and its body's fingerprint."""

    user_id: str
    route: str
    key: str | None
    fingerprint: str

    def new_id(self, part: str) -> str:
        if self.key is None:
            return uuid.uuid4().hex
        name = f"community/forum/{self.route}/{self.user_id}/{self.key}/{part}"
        return uuid.uuid5(uuid.NAMESPACE_URL, name).hex

    def check_same(self, stored: str | None) -> None:
        """A document made under this key: was it made by the same request?"""
        if stored != self.fingerprint:
            raise IdempotencyKeyReusedError(
                "this Idempotency-Key was already used with a different request body; "
                "use a new key for a new request",
                field="Idempotency-Key",
            )


def idem(user_id: str, route: str, key: str | None, body: BaseModel, *scope: str) -> Idem:
    return Idem(user_id, route, key, fingerprint(body, *scope))
