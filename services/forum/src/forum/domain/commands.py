"""Commands (validated input) of the forum. Unknown fields are rejected; strings are data."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, StringConstraints

from .errors import InvalidCommandError

ThreadKind = Literal["question", "discussion", "article", "media", "review"]

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Body = Annotated[str, StringConstraints(min_length=1, max_length=50_000)]
Tag = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=40)
]
Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class MediaIn(Command):
    url: HttpUrl
    media_type: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    caption: Annotated[str, StringConstraints(max_length=500)] | None = None


class CreateThread(Command):
    kind: ThreadKind
    title: Title
    body: Body
    tags: Annotated[list[Tag], Field(max_length=10)] = []
    group_id: Id | None = None
    product_id: Id | None = None
    rating: Annotated[int, Field(ge=1, le=5)] | None = None
    media: Annotated[list[MediaIn], Field(max_length=20)] = []

    def check(self) -> None:
        """Cross-field rules; raise a 422 naming the field."""
        if not self.body.strip():
            raise InvalidCommandError("body must not be blank", field="body")
        if self.kind == "review":
            if self.product_id is None:
                raise InvalidCommandError("a review needs product_id", field="product_id")
            if self.rating is None:
                raise InvalidCommandError("a review needs a rating from 1 to 5", field="rating")
        elif self.rating is not None:
            raise InvalidCommandError("rating is only for reviews", field="rating")
        if self.kind == "media" and not self.media:
            raise InvalidCommandError("a media post needs at least one media item", field="media")
        if self.kind != "media" and self.media:
            raise InvalidCommandError("media items are only for media posts", field="media")


class CastVote(Command):
    value: Literal[1, -1, 0]


class CreateReply(Command):
    body: Body
    parent_post_id: Id | None = None

    def check(self) -> None:
        if not self.body.strip():
            raise InvalidCommandError("body must not be blank", field="body")


class EditPost(Command):
    body: Body | None = None
    title: Title | None = None
    tags: Annotated[list[Tag], Field(max_length=10)] | None = None

    def check(self) -> None:
        if self.body is None and self.title is None and self.tags is None:
            raise InvalidCommandError("give at least one of body, title, tags", field="body")
        if self.body is not None and not self.body.strip():
            raise InvalidCommandError("body must not be blank", field="body")


class AcceptAnswer(Command):
    post_id: Id


class FlagPost(Command):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class CreateGroup(Command):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    description: Annotated[str, StringConstraints(max_length=2000)] = ""
