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
    GetJsonSchemaHandler,
    HttpUrl,
    StringConstraints,
    model_validator,
)
from pydantic.config import JsonDict
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError

from communitykit.text import NOT_BOOLEAN

from .errors import InvalidCommandError

ThreadKind = Literal["question", "discussion", "article", "media", "review"]

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Body = Annotated[str, StringConstraints(min_length=1, max_length=50_000)]
Tag = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=40)
]
Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
MediaId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]


def _unique(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(ids))


#: items of the media service a post shows (any post or reply): each must exist, be ready
#: and be the author's own or public — checked against the forum's projection of
#: media.events (handlers/media_refs.py), never by calling the media service
MediaIds = Annotated[
    list[MediaId],
    Field(max_length=10, description="media ids (services/media): ready, yours or public"),
    AfterValidator(_unique),
]

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


class MediaIn(Command):
    url: HttpUrl
    media_type: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    caption: Annotated[str, StringConstraints(max_length=500)] | None = None


#: a kind, in a body or a query: a wrong one says which kind is meant ("blog" → article)
Kind = Annotated[ThreadKind, BeforeValidator(_known_kind)]
KindFilter = Annotated[ThreadKind | None, BeforeValidator(_known_kind)]


# --- the request bodies as OpenAPI states them ----------------------------------------------
# The kind-dependent rules of CreateThread's validator, said as complete schemas (client
# generators skip an operation whose body is an anyOf of partial schemas). These models only
# describe: CreateThread and EditPost validate, with the same rules and messages.


class _ThreadBody(Command):
    title: Title
    body: Body
    tags: Tags = []
    group_id: Id | None = None
    product_id: Id | None = None
    media_ids: MediaIds = []


NoRating = Annotated[None, Field(description="only reviews have a rating")]
NoMedia = Annotated[
    list[MediaIn], Field(max_length=0, description="only media posts have media items")
]


class QuestionThread(_ThreadBody):
    kind: Literal["question"]
    rating: NoRating = None
    media: NoMedia = []


class DiscussionThread(_ThreadBody):
    kind: Literal["discussion"]
    rating: NoRating = None
    media: NoMedia = []


class ArticleThread(_ThreadBody):
    kind: Literal["article"]
    rating: NoRating = None
    media: NoMedia = []


class MediaThread(_ThreadBody):
    kind: Literal["media"]
    rating: NoRating = None
    #: links, or media_ids (at least one of the two)
    media: Annotated[list[MediaIn], Field(max_length=20)] = []


class ReviewThread(_ThreadBody):
    kind: Literal["review"]
    product_id: Id
    rating: Annotated[int, Field(ge=1, le=5)]
    media: NoMedia = []


#: the complete body of a new thread, by kind
THREAD_BODIES: dict[str, type[Command]] = {
    "question": QuestionThread,
    "discussion": DiscussionThread,
    "article": ArticleThread,
    "media": MediaThread,
    "review": ReviewThread,
}
assert set(THREAD_BODIES) == set(KINDS)


def _summary(model: type[BaseModel]) -> str:
    return " ".join((model.__doc__ or "").split("\n\n")[0].split())


def _ref(model: type[BaseModel], handler: GetJsonSchemaHandler) -> JsonSchemaValue:
    """``{"$ref": ...}`` to ``model``'s schema, added to the document's definitions (the
    handler's own call would inline it: a discriminator's mapping needs references)."""
    generator = handler.generate_json_schema  # type: ignore[attr-defined]
    ref: JsonSchemaValue = generator.generate_inner(model.__pydantic_core_schema__)
    if "$ref" not in ref:  # pragma: no cover - pydantic changed: fail at import, not in use
        raise TypeError(f"no reference to {model.__name__}")
    return ref


def _one_of_kind(
    model: type[BaseModel], bodies: dict[str, type[Command]], handler: GetJsonSchemaHandler
) -> JsonSchemaValue:
    refs = {kind: _ref(body, handler) for kind, body in bodies.items()}
    return {
        "title": model.__name__,
        "description": _summary(model),
        "oneOf": list(refs.values()),
        "discriminator": {
            "propertyName": "kind",
            "mapping": {kind: ref["$ref"] for kind, ref in refs.items()},
        },
    }


class CreateThread(Command):
    """The body of ``POST /threads``: this model validates it (a 422 names the field); its
    OpenAPI schema is a ``oneOf`` of the complete body of each kind (``THREAD_BODIES``) with a
    discriminator on ``kind``, the form client generators read."""

    kind: Kind
    title: Title
    body: Body
    tags: Tags = []
    group_id: Id | None = None
    product_id: Id | None = None
    rating: Annotated[int, Field(ge=1, le=5)] | None = None
    media: Annotated[list[MediaIn], Field(max_length=20)] = []
    media_ids: MediaIds = []

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
        if self.kind == "media" and not (self.media or self.media_ids):
            raise InvalidCommandError(
                "a media post needs at least one media item (media or media_ids)", field="media"
            )
        if self.kind != "media" and self.media:
            raise InvalidCommandError("media items are only for media posts", field="media")
        return self

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return _one_of_kind(cls, THREAD_BODIES, handler)


class CastVote(Command):
    value: Annotated[Literal[1, -1, 0], NOT_BOOLEAN]


class CreateReply(Command):
    body: Body
    parent_post_id: Id | None = None
    media_ids: MediaIds = []

    @model_validator(mode="after")
    def _cross_field(self) -> CreateReply:
        _not_blank(self.body)
        return self


class EditPostBody(Command):
    body: Body
    title: Title | None = None
    tags: Tags | None = None


class EditPostTitle(Command):
    body: Body | None = None
    title: Title
    tags: Tags | None = None


class EditPostTags(Command):
    body: Body | None = None
    title: Title | None = None
    tags: Tags


class EditPost(Command):
    """The body of ``PATCH /posts/{id}``: at least one of body, title, tags. Its OpenAPI
    schema is an ``anyOf`` of complete bodies, one per field that must be there."""

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

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        bodies = (EditPostBody, EditPostTitle, EditPostTags)
        return {
            "title": cls.__name__,
            "description": _summary(cls),
            "anyOf": [_ref(b, handler) for b in bodies],
        }


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
