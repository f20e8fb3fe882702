"""Cursor codec (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ideas.adapters.pagination import decode_cursor, encode_cursor
from ideas.domain.errors import InvalidCommandError


def test_cursor_round_trip() -> None:
    t = datetime(2026, 11, 23, 10, 0, 0, 123000, tzinfo=UTC)
    assert decode_cursor(encode_cursor(t, "abc")) == (t, "abc")
    assert decode_cursor(encode_cursor(7, "x")) == (7, "x")


@pytest.mark.parametrize(
    "garbage", ["", "!!!", "e30", "WzEsMiwzXQ", "bnVsbA", "W3siJGd0IjoiIn0sIngiXQ"]
)
def test_garbage_cursor_is_invalid_input(garbage: str) -> None:
    with pytest.raises(InvalidCommandError):
        decode_cursor(garbage)
