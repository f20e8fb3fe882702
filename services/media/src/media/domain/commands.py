"""Validated request bodies (commands)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from schemas.media import GalleryKind

#: product, group and tag ids: no ``.`` or ``$`` (they become map keys and ids)
ID = r"^[A-Za-z0-9_-]{1,64}$"
#: some text besides white space (bodies are stripped: the document must not call "  " valid)
TEXT = r"\S"


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CreateGallery(Command):
    title: str = Field(min_length=1, max_length=120, pattern=TEXT)
    description: str = Field(default="", max_length=4000)
    kind: GalleryKind = "community"
    product_id: str | None = Field(default=None, pattern=ID)
    group_id: str | None = Field(default=None, pattern=ID)
    #: 1-64 letters, digits, _ or - each (the pattern is in the document); stored lower case
    tags: list[Annotated[str, Field(pattern=ID)]] = Field(default_factory=list, max_length=10)

    @field_validator("tags")
    @classmethod
    def _tags(cls, v: list[str]) -> list[str]:
        out = []
        for t in v:
            t = t.lower()
            if t not in out:
                out.append(t)
        return out


class AddItem(Command):
    media_id: str = Field(min_length=1, max_length=64)
    caption: str = Field(default="", max_length=500)
    alt_text: str | None = Field(default=None, max_length=1000)
    position: int | None = Field(default=None, ge=0)


class MoveItem(Command):
    position: int = Field(ge=0)


class Vote(Command):
    value: Literal[0, 1]


class Flag(Command):
    reason: str = Field(min_length=1, max_length=500, pattern=TEXT)


class Hide(Command):
    reason: str = Field(min_length=1, max_length=500, pattern=TEXT)
