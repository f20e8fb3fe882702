"""What every handler module shares."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime


def now() -> datetime:
    # Mongo keeps milliseconds: decide on the instant that will be stored
    t = datetime.now(UTC)
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(9).replace('-', 'x').replace('_', 'y')}"
