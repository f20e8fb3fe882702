"""Kit repositories of the member writes: follows, preferences, inbox entries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from communitykit.problems import NotFoundError
from communitykit.repository import Repository
from schemas import topics

from ..domain.preferences import Preferences
from .mongo import NotificationsDb

Doc = dict[str, Any]


@dataclass
class Account:
    """A member's preferences and the time they marked everything read."""

    prefs: Preferences
    read_all_at: datetime | None = None

    @classmethod
    def load(cls, doc: Doc) -> Account:
        return cls(Preferences.from_doc(doc), doc.get("read_all_at"))

    def dump(self) -> Doc:
        return {**self.prefs.to_doc(), "read_all_at": self.read_all_at}


def _plain(doc: Doc) -> Doc:
    return {k: v for k, v in doc.items() if k not in ("_id", "version", "outbox", "outbox_len")}


def follows(db: NotificationsDb) -> Repository[Doc]:
    return Repository(db.follows, topics.NOTIFICATIONS_EVENTS, load=_plain, dump=dict)


def accounts(db: NotificationsDb) -> Repository[Account]:
    return Repository(
        db.preferences, topics.NOTIFICATIONS_EVENTS, load=Account.load, dump=Account.dump
    )


def inbox(db: NotificationsDb) -> Repository[Doc]:
    return Repository(
        db.inbox,
        topics.NOTIFICATIONS_EVENTS,
        load=_plain,
        dump=dict,
        missing=lambda i: NotFoundError(f"no such notification {i!r}"),
    )
