"""Events published by the ideas service on ``ideas.events`` (SPEC 2.3), version 1. Key: idea id."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from .envelope import EventData, register

IdeaStatus = Literal["new", "under_review", "planned", "in_progress", "completed", "declined"]


class IdeasEvent(EventData):
    producer: ClassVar[str] = "ideas"


@register
class IdeaSubmitted(IdeasEvent):
    event_name: ClassVar[str] = "IdeaSubmitted"
    idea_id: str
    author_id: str
    title: str
    category: str
    product_area: str
    #: the idea's text, for the search service (optional v1 field, an additive change)
    description: str | None = None


@register
class IdeaCommented(IdeasEvent):
    event_name: ClassVar[str] = "IdeaCommented"
    idea_id: str
    comment_id: str
    author_id: str


@register
class IdeaVoteCast(IdeasEvent):
    """``community.ideas.VoteCast.v1``: a vote on an idea (value 0 or +1)."""

    event_name: ClassVar[str] = "VoteCast"
    target_type: Literal["idea"] = "idea"
    target_id: str
    thread_id: str | None = None
    target_kind: Literal["idea"] = "idea"
    target_author_id: str
    voter_id: str
    value: Literal[-1, 0, 1]
    previous_value: Literal[-1, 0, 1]


@register
class IdeaStatusChanged(IdeasEvent):
    event_name: ClassVar[str] = "IdeaStatusChanged"
    idea_id: str
    author_id: str
    from_status: IdeaStatus
    to_status: IdeaStatus
    changed_by: str
    note: str | None = None


@register
class IdeasMerged(IdeasEvent):
    event_name: ClassVar[str] = "IdeasMerged"
    source_idea_id: str
    target_idea_id: str
    moved_votes: int = Field(ge=0)
    source_author_id: str
    target_author_id: str
