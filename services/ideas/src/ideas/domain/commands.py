"""Commands (validated input) of the ideas service. Unknown fields are rejected (so nobody can
mass-assign ``votes``, ``status`` or ``author_id``); strings are data, never queries."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict

from communitykit.text import NOT_BOOLEAN, STRIPPED, STRIPPED_LOWER, at_most, not_blank
from schemas.ideas import IdeaStatus

Title = Annotated[str, not_blank(200), STRIPPED]
Text = Annotated[str, not_blank(20_000), STRIPPED]
Label = Annotated[str, not_blank(60), STRIPPED_LOWER]
Id = Annotated[str, not_blank(100), STRIPPED]
Note = Annotated[str, at_most(2000), STRIPPED]


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SubmitIdea(Command):
    title: Title
    description: Text
    category: Label
    product_area: Label


class CastVote(Command):
    """+1 votes for the idea, 0 withdraws the caller's vote (there are no down-votes)."""

    value: Annotated[Literal[1, 0], NOT_BOOLEAN]


class ChangeStatus(Command):
    status: IdeaStatus
    note: Note | None = None


class MergeIdeas(Command):
    into_idea_id: Id


class AddComment(Command):
    body: Text
