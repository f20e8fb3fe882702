"""FastAPI dependencies of the HTTP routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from communitykit.app import runtime_of

from ..adapters.mongo import GatheringsDb
from ..adapters.stores import Stores
from ..config import Settings


def get_stores(request: Request) -> Stores:
    """One ``Stores`` per process (its group-commit queues are per process)."""
    state = request.app.state
    stores: Stores | None = getattr(state, "gatherings_stores", None)
    if stores is None:
        settings = state.settings
        assert isinstance(settings, Settings)
        stores = Stores(GatheringsDb(runtime_of(request).db), settings)
        state.gatherings_stores = stores
    return stores


def published(request: Request) -> None:
    """After a write: wake the outbox relay instead of waiting for its next poll."""
    runtime_of(request).notify_outbox()


StoresDep = Annotated[Stores, Depends(get_stores)]
Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=1000)]
Id = Annotated[str, Query(min_length=1, max_length=100)]
