"""Helpers shared by the handlers: the clock and new ids."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime


def now() -> datetime:
    """UTC now at the precision MongoDB stores (milliseconds), so a value written and read
    back compares equal to the one in memory."""
    t = datetime.now(UTC)
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


def new_id() -> str:
    return uuid.uuid4().hex
