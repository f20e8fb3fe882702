"""The read side: response models (so the OpenAPI document states every response) and the
functions that shape stored documents into them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from schemas.ideas import IdeaStatus

from .adapters.mongo import Doc
from .domain.model import Idea


class Created(BaseModel):
    idea_id: str


class StatusHistoryEntry(BaseModel):
    from_status: IdeaStatus
    to_status: IdeaStatus
    changed_by: str
    note: str | None
    at: datetime


class MergedFrom(BaseModel):
    idea_id: str
    moved_votes: int
    by: str
    at: datetime


class IdeaSummary(BaseModel):
    idea_id: str
    title: str
    category: str
    product_area: str
    author_id: str
    status: IdeaStatus
    votes: int = Field(description="distinct users whose up-vote stands")
    recent_votes: int = Field(
        description="standing up-votes cast in the current UTC day and the 6 before it "
        "(the `trending` sort key)"
    )
    merged_into: str | None
    comment_count: int
    created_at: datetime


class IdeaView(IdeaSummary):
    description: str
    status_history: list[StatusHistoryEntry]
    merged_from: list[MergedFrom] = Field(description="ideas merged into this one")
    my_vote: int | None = Field(
        None, description="the caller's standing vote (1 or 0) when a token is sent"
    )


class IdeaPage(BaseModel):
    items: list[IdeaSummary]
    next_cursor: str | None


class Votes(BaseModel):
    votes: int


class StatusChanged(BaseModel):
    idea_id: str
    status: IdeaStatus
    status_history: list[StatusHistoryEntry]


class Merged(BaseModel):
    source_idea_id: str
    target_idea_id: str
    moved_votes: int = Field(description="votes that actually moved (voters of both count once)")
    votes: int = Field(description="the target's votes after the merge")


class CommentCreated(BaseModel):
    comment_id: str


class Comment(BaseModel):
    comment_id: str
    idea_id: str
    author_id: str
    body: str
    created_at: datetime


class CommentPage(BaseModel):
    items: list[Comment]
    next_cursor: str | None


def summary(doc: Doc, comment_count: int) -> dict[str, Any]:
    return {
        "idea_id": doc["_id"],
        "title": doc["title"],
        "category": doc["category"],
        "product_area": doc["product_area"],
        "author_id": doc["author_id"],
        "status": doc["status"],
        "votes": doc.get("votes", 0),
        "recent_votes": doc.get("recent_votes", 0),
        "merged_into": doc.get("merged_into"),
        "comment_count": comment_count,
        "created_at": doc["created_at"],
    }


def history(idea: Idea) -> list[StatusHistoryEntry]:
    return [StatusHistoryEntry.model_validate(h, from_attributes=True) for h in idea.status_history]


def full(idea: Idea, comment_count: int, my_vote: int | None) -> IdeaView:
    return IdeaView(
        idea_id=idea.idea_id,
        title=idea.title,
        category=idea.category,
        product_area=idea.product_area,
        author_id=idea.author_id,
        status=idea.status,  # type: ignore[arg-type]
        votes=idea.votes,
        recent_votes=idea.recent_votes,
        merged_into=idea.merged_into,
        comment_count=comment_count,
        created_at=idea.created_at,
        description=idea.description,
        status_history=history(idea),
        merged_from=[
            MergedFrom.model_validate(m) for m in idea.merged_from if not m.get("aborted")
        ],
        my_vote=my_vote,
    )


def comment(doc: Doc) -> Comment:
    return Comment(
        comment_id=doc["_id"],
        idea_id=doc["idea_id"],
        author_id=doc["author_id"],
        body=doc["body"],
        created_at=doc["created_at"],
    )
