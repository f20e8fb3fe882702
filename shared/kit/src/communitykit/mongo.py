"""MongoDB helpers that keep the store layer honest about both real MongoDB and FerretDB."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError

#: FerretDB 1.24 (SQLite) applies the statements of one update command one by one and was
#: seen to stall on unordered update batches of ~100 statements; real MongoDB does not care.
#: Chunks of this size keep one round trip per chunk on both.
BULK_CHUNK = 50


async def bulk_write(
    coll: AsyncCollection[Any], ops: Sequence[Any], *, chunk: int = BULK_CHUNK
) -> list[dict[str, Any]]:
    """Unordered bulk write in chunks; returns the write errors of every chunk (each error's
    ``index`` is relative to ``ops``) instead of stopping at the first failing chunk."""
    errors: list[dict[str, Any]] = []
    for start in range(0, len(ops), chunk):
        try:
            await coll.bulk_write(list(ops[start : start + chunk]), ordered=False)
        except BulkWriteError as e:
            for err in e.details.get("writeErrors", []):
                errors.append({**err, "index": err["index"] + start})
    return errors


def only_duplicates(errors: list[dict[str, Any]]) -> bool:
    """True when every error is a duplicate key (an idempotent insert that already happened)."""
    return all(err.get("code") == 11000 for err in errors)
