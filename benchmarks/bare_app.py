"""The baseline of the reply benchmark: a bare FastAPI endpoint that inserts the same post
document (outbox entry included) that ``POST /threads/{id}/replies`` writes (the forum's own
document builder), and nothing else: no auth, no thread or parent read, no relay, no
projection.

``BARE_MONGODB_URL`` / ``BARE_MONGODB_DATABASE``; run with
``python -m uvicorn benchmarks.bare_app:app --port N``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel
from pymongo import AsyncMongoClient

from communitykit.outbox import outbox_fields
from forum.adapters.documents import post_doc
from schemas import new_event, topics
from schemas.forum import PostCreated

state: dict[str, Any] = {}


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        os.environ["BARE_MONGODB_URL"], tz_aware=True
    )
    state["posts"] = client[os.environ["BARE_MONGODB_DATABASE"]]["bare_posts"]
    yield
    await client.close()


app = FastAPI(lifespan=lifespan)


class Reply(BaseModel):
    body: str


@app.post("/threads/{thread_id}/replies", status_code=201)
async def reply(thread_id: str, cmd: Reply) -> dict[str, str]:
    post_id, at, user = uuid.uuid4().hex, datetime.now(UTC), "bare"
    event = new_event(
        PostCreated(
            post_id=post_id,
            thread_id=thread_id,
            parent_post_id=thread_id,
            kind="reply",
            author_id=user,
            group_id=None,
            body_length=len(cmd.body),
        ),
        subject=thread_id,
        actor_id=user,
        time=at,
    )
    await state["posts"].insert_one(
        {
            **post_doc(
                post_id, thread_id, thread_id, "reply", user, cmd.body, at, by_support=False
            ),
            **outbox_fields(topics.FORUM_EVENTS, [event]),
        }
    )
    return {"post_id": post_id}


@app.get("/readyz")
async def readyz() -> dict[str, str]:
    return {"status": "ready"}
