"""MongoDB helpers shared by the services."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError


async def bulk_write(coll: AsyncCollection[Any], ops: Sequence[Any]) -> list[dict[str, Any]]:
    """One unordered bulk write; returns its write errors (each with the ``index`` of the
    failing op in ``ops``) instead of raising, so a caller can accept expected ones (a
    duplicate insert of a redelivered event) and fail on the rest.

    One call: PyMongo itself splits ``ops`` into as many commands as the server's limits
    (``maxWriteBatchSize``, message size) require, and reports indexes relative to ``ops``."""
    if not ops:
        return []
    try:
        await coll.bulk_write(list(ops), ordered=False)
    except BulkWriteError as e:
        return list(e.details.get("writeErrors", []))
    return []


def only_duplicates(errors: list[dict[str, Any]]) -> bool:
    """True when every error is a duplicate key (an idempotent insert that already happened)."""
    return all(err.get("code") == 11000 for err in errors)
