"""Commands (validated input) of the ideas service. Unknown fields are rejected (so nobody can
mass-assign ``votes``, ``status`` or ``author_id``); strings are data, never queries."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

from schemas.ideas import IdeaStatus

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]
Label = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=60)
]
Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SubmitIdea(Command):
    title: Title
    description: Text
    category: Label
    product_area: Label


class CastVote(Command):
    """+1 votes for the idea, 0 withdraws the caller's vote (there are no down-votes)."""

    value: Literal[1, 0]


class ChangeStatus(Command):
    status: IdeaStatus
    note: Note | None = None


class MergeIdeas(Command):
    into_idea_id: Id


class AddComment(Command):
    body: Text
