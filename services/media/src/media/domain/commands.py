"""Validated request bodies (commands)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from schemas.media import GalleryKind

#: product, group and tag ids: no ``.`` or ``$`` (they become map keys and ids)
ID = r"^[A-Za-z0-9_-]{1,64}$"


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CreateGallery(Command):
    title: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=4000)
    kind: GalleryKind = "community"
    product_id: str | None = Field(default=None, pattern=ID)
    group_id: str | None = Field(default=None, pattern=ID)
    tags: list[str] = Field(default_factory=list, max_length=10)

    @field_validator("tags")
    @classmethod
    def _tags(cls, v: list[str]) -> list[str]:
        out = []
        for t in v:
            t = t.strip().lower()
            if not re.match(ID, t):
                raise ValueError("tags are 1-64 letters, digits, _ or -")
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
    reason: str = Field(min_length=1, max_length=500)


class Hide(Command):
    reason: str = Field(min_length=1, max_length=500)
