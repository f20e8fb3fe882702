"""Commands (validated input) of the ideas service. Unknown fields are rejected (so nobody can
mass-assign ``votes``, ``status`` or ``author_id``); strings are data, never queries."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, StringConstraints

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


def _not_a_boolean(value: object) -> object:
    """JSON ``true``/``false`` are not the numbers 1/0 (pydantic's ``Literal`` would take
    them: ``True == 1``); the document says ``enum: [1, 0]``, an integer."""
    if isinstance(value, bool):
        raise ValueError("must be the number 1 or 0, not a boolean")
    return value


class CastVote(Command):
    """+1 votes for the idea, 0 withdraws the caller's vote (there are no down-votes)."""

    value: Annotated[Literal[1, 0], BeforeValidator(_not_a_boolean)]


class ChangeStatus(Command):
    status: IdeaStatus
    note: Note | None = None


class MergeIdeas(Command):
    into_idea_id: Id


class AddComment(Command):
    body: Text
