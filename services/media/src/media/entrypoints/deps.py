"""FastAPI dependencies of the HTTP routes."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Query, Request

from communitykit.app import runtime_of
from communitykit.auth import OptionalUser

from ..adapters.mongo import MediaDb
from ..adapters.repository import Repos
from ..adapters.storage import Storage
from ..config import Settings
from ..runtime import MediaRuntime


def get_runtime(request: Request) -> MediaRuntime:
    return cast(MediaRuntime, runtime_of(request))


def get_repos(request: Request) -> Repos:
    return Repos(MediaDb(runtime_of(request).db))


def get_storage(request: Request) -> Storage:
    return get_runtime(request).storage


def get_settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


def published(request: Request) -> None:
    """After a write: wake the outbox relay instead of waiting for its next poll."""
    runtime_of(request).notify_outbox()


RepoSet = Annotated[Repos, Depends(get_repos)]
Store = Annotated[Storage, Depends(get_storage)]
Config = Annotated[Settings, Depends(get_settings)]
Viewer = OptionalUser
Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=1000)]
