"""Commands (validated input) of the forum. Unknown fields are rejected (``extra="forbid"``:
mass assignment is a 422); strings are data; cross-field rules are model validators, so they
run wherever a command is built (HTTP or not) and raise a 422 naming the field."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    HttpUrl,
    StringConstraints,
    model_validator,
)
from pydantic.config import JsonDict
from pydantic_core import PydanticCustomError

from communitykit.text import NOT_BOOLEAN

from .errors import InvalidCommandError

ThreadKind = Literal["question", "discussion", "article", "media", "review"]

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Body = Annotated[str, StringConstraints(min_length=1, max_length=50_000)]
Tag = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=40)
]
Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]

KINDS = get_args(ThreadKind)
#: names people try for a kind, and the kind they mean
KIND_ALIASES = {"blog": "article", "post": "article", "video": "media", "image": "media"}


def _known_kind(value: object) -> object:
    """Before the enum check: a wrong kind gets a message that says which one is meant."""
    if isinstance(value, str) and value not in KINDS:
        kinds = f"kinds are {', '.join(KINDS)}"
        name = value.strip().lower()
        hint = KIND_ALIASES.get(name)
        msg = f"{value!r} is not a kind; {kinds}"
        if hint:
            msg = f"{value!r} is not a kind: a {name} post is kind {hint!r} ({kinds})"
        raise PydanticCustomError("kind", msg)
    return value


def _dedupe(tags: list[str]) -> list[str]:
    """Tags are lower-cased (Tag) and kept once each, in the order given."""
    return list(dict.fromkeys(tags))


Tags = Annotated[list[Tag], Field(max_length=10), AfterValidator(_dedupe)]


def _not_blank(body: str) -> None:
    if not body.strip():
        raise InvalidCommandError("body must not be blank", field="body")


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


def at_least_one_of(**fields: str) -> JsonDict:
    """JSON Schema (for the OpenAPI document) of "at least one of these fields, not null":
    the rule a PATCH's model validator checks, stated so generated clients know it."""
    return {
        "anyOf": [
            {"required": [name], "properties": {name: {"type": kind}}}
            for name, kind in fields.items()
        ]
    }


#: the kind-dependent rules of CreateThread's validator, as JSON Schema: a review names a
#: product and a rating and has no media; a media post has media items and no rating; the
#: other kinds have neither
THREAD_KIND_RULES: JsonDict = {
    "anyOf": [
        {
            "properties": {
                "kind": {"const": "review"},
                "product_id": {"type": "string"},
                "rating": {"type": "integer"},
                "media": {"maxItems": 0},
            },
            "required": ["kind", "product_id", "rating"],
        },
        {
            "properties": {
                "kind": {"const": "media"},
                "rating": {"type": "null"},
                "media": {"type": "array", "minItems": 1},
            },
            "required": ["kind", "media"],
        },
        {
            "properties": {
                "kind": {"enum": ["question", "discussion", "article"]},
                "rating": {"type": "null"},
                "media": {"maxItems": 0},
            },
            "required": ["kind"],
        },
    ]
}


class MediaIn(Command):
    url: HttpUrl
    media_type: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    caption: Annotated[str, StringConstraints(max_length=500)] | None = None


#: a kind, in a body or a query: a wrong one says which kind is meant ("blog" → article)
Kind = Annotated[ThreadKind, BeforeValidator(_known_kind)]
KindFilter = Annotated[ThreadKind | None, BeforeValidator(_known_kind)]


class CreateThread(Command):
    model_config = ConfigDict(json_schema_extra=THREAD_KIND_RULES)

    kind: Kind
    title: Title
    body: Body
    tags: Tags = []
    group_id: Id | None = None
    product_id: Id | None = None
    rating: Annotated[int, Field(ge=1, le=5)] | None = None
    media: Annotated[list[MediaIn], Field(max_length=20)] = []

    @model_validator(mode="after")
    def _cross_field(self) -> CreateThread:
        """Cross-field rules, run with the model's validation: a 422 naming the field."""
        _not_blank(self.body)
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
        return self


class CastVote(Command):
    value: Annotated[Literal[1, -1, 0], NOT_BOOLEAN]


class CreateReply(Command):
    body: Body
    parent_post_id: Id | None = None

    @model_validator(mode="after")
    def _cross_field(self) -> CreateReply:
        _not_blank(self.body)
        return self


class EditPost(Command):
    model_config = ConfigDict(
        json_schema_extra=at_least_one_of(body="string", title="string", tags="array")
    )

    body: Body | None = None
    title: Title | None = None
    tags: Tags | None = None

    @model_validator(mode="after")
    def _cross_field(self) -> EditPost:
        if self.body is None and self.title is None and self.tags is None:
            raise InvalidCommandError("give at least one of body, title, tags", field="body")
        if self.body is not None:
            _not_blank(self.body)
        return self


class ReopenEscalation(Command):
    reason: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)
    ] = "the answer did not help"


class AcceptAnswer(Command):
    post_id: Id


class FlagPost(Command):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class CreateGroup(Command):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    description: Annotated[str, StringConstraints(max_length=2000)] = ""
