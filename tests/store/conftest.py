"""Fixtures for the store tests: a fresh database per test on the session's server."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from ..conftest import RUN_ID

Doc = dict[str, Any]


@pytest_asyncio.fixture(loop_scope="session")
async def db(mongo: AsyncMongoClient[Doc]) -> AsyncIterator[AsyncDatabase[Doc]]:
    database = mongo[f"t{RUN_ID}store_{uuid.uuid4().hex[:6]}"]
    yield database
    await mongo.drop_database(database.name)


async def is_ferretdb(mongo: AsyncMongoClient[Doc]) -> bool:
    """FerretDB answers buildInfo with a ``ferretdbVersion``; MongoDB does not."""
    info = await mongo.admin.command("buildInfo")
    return "ferretdbVersion" in info
