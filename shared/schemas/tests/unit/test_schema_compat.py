"""schemas.compat: every breaking-change rule fires on a schema pair that breaks it, names the
field and the rule, and additive changes pass. The pairs are built from real event models, as
``schemas.export`` renders them, so the checks read what ``make contracts`` reads."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import pytest
from pydantic import Field

from schemas import EventData, compat, export
from schemas.compat import NARROWED_ENUM, NEWLY_REQUIRED, REMOVED, RETYPED, Violation


class _Base(EventData):
    producer: ClassVar[str] = "forum"
    event_name: ClassVar[str] = "Fixture"


class MediaItem(EventData):
    url: str
    caption: str | None = None


class Old(_Base):
    post_id: str
    kind: Literal["question", "review", "reply"]
    rating: Annotated[int, Field(ge=1, le=5)] | None = None
    title: str | None = None
    tags: list[str] = []
    media: list[MediaItem] = []
    score: int = 0


class RemovedField(_Base):
    post_id: str
    kind: Literal["question", "review", "reply"]
    rating: Annotated[int, Field(ge=1, le=5)] | None = None
    tags: list[str] = []
    media: list[MediaItem] = []
    score: int = 0


class RetypedField(_Base):
    post_id: int  # was a string
    kind: Literal["question", "review", "reply"]
    rating: Annotated[int, Field(ge=1, le=5)] | None = None
    title: str | None = None
    tags: list[str] = []
    media: list[MediaItem] = []
    score: int = 0


class NotNullableAnyMore(_Base):
    post_id: str
    kind: Literal["question", "review", "reply"]
    rating: Annotated[int, Field(ge=1, le=5)] | None = None
    title: str = ""  # null was allowed
    tags: list[str] = []
    media: list[MediaItem] = []
    score: int = 0


class NewlyRequired(_Base):
    post_id: str
    kind: Literal["question", "review", "reply"]
    rating: Annotated[int, Field(ge=1, le=5)] | None = None
    title: str | None  # optional before
    tags: list[str] = []
    media: list[MediaItem] = []
    score: int = 0
    group_id: str  # a new field, required at once


class NarrowedEnum(_Base):
    post_id: str
    kind: Literal["question", "review"]  # "reply" dropped
    rating: Annotated[int, Field(ge=1, le=5)] | None = None
    title: str | None = None
    tags: list[str] = []
    media: list[MediaItem] = []
    score: int = 0


class NestedChange(_Base):
    post_id: str
    kind: Literal["question", "review", "reply"]
    rating: Annotated[int, Field(ge=1, le=5)] | None = None
    title: str | None = None
    tags: list[int] = []  # items retyped
    media: list[dict[str, int]] = []  # the item object lost url and caption
    score: int = 0


class Additive(_Base):
    post_id: str
    kind: Literal["question", "review", "reply", "poll"]  # a wider enum
    rating: Annotated[int, Field(ge=1, le=5)] | None = None
    title: str | None = None
    tags: list[str] = []
    media: list[MediaItem] = []
    score: float = 0  # a wider type: every integer is a number
    group_id: str | None = None  # a new optional field
    body: str = ""


def _schema(model: type[EventData]) -> dict[str, Any]:
    return export.event_schema("community.forum.Fixture.v1", model)


def _check(new: type[EventData]) -> list[Violation]:
    return compat.compare("community.forum.Fixture.v1", _schema(Old), _schema(new))


def _found(new: type[EventData]) -> set[tuple[str, str]]:
    return {(v.field, v.rule) for v in _check(new)}


def test_unchanged_schema_passes() -> None:
    assert _check(Old) == []


def test_additive_optional_fields_and_wider_types_pass() -> None:
    assert _check(Additive) == []


def test_removed_field_fails() -> None:
    assert _found(RemovedField) == {("data.title", REMOVED)}


def test_retyped_field_fails() -> None:
    (v,) = _check(RetypedField)
    assert (v.field, v.rule) == ("data.post_id", RETYPED)
    assert v.detail == "string -> integer"
    assert str(v) == (
        "community.forum.Fixture.v1: field 'data.post_id': retyped-field (string -> integer)"
    )


def test_a_nullable_field_made_non_nullable_is_retyped() -> None:
    assert _found(NotNullableAnyMore) == {("data.title", RETYPED)}


def test_newly_required_fields_fail() -> None:
    assert _found(NewlyRequired) == {
        ("data.title", NEWLY_REQUIRED),
        ("data.group_id", NEWLY_REQUIRED),
    }


def test_narrowed_enum_fails() -> None:
    (v,) = _check(NarrowedEnum)
    assert (v.field, v.rule) == ("data.kind", NARROWED_ENUM)
    assert '"reply" no longer allowed' in v.detail


def test_a_free_value_made_an_enum_is_narrowed() -> None:
    old = {"type": "object", "properties": {"reason": {"type": "string"}}}
    new = {"type": "object", "properties": {"reason": {"enum": ["spam", "rude"]}}}
    assert [(v.field, v.rule) for v in compat.compare("t", old, new)] == [("reason", NARROWED_ENUM)]


def test_changes_inside_arrays_and_nested_objects_are_found() -> None:
    assert _found(NestedChange) == {
        ("data.tags[]", RETYPED),
        ("data.media[].url", REMOVED),
        ("data.media[].caption", REMOVED),
    }


def test_envelope_attributes_are_checked_too() -> None:
    old = _schema(Old)
    new = json.loads(json.dumps(old))
    del new["properties"]["subject"]
    assert ("subject", REMOVED) in {
        (v.field, v.rule) for v in compat.compare("community.forum.Fixture.v1", old, new)
    }


RENDERED = {
    name.removesuffix(export.SCHEMA_SUFFIX): json.loads(text)
    for name, text in export.render().items()
    if name.endswith(export.SCHEMA_SUFFIX)
}


@pytest.mark.parametrize("event_type", sorted(RENDERED))
def test_every_committed_schema_is_compatible_with_itself(event_type: str) -> None:
    """No false alarm on any real schema (anyOf, $ref, const, nullable...)."""
    schema = RENDERED[event_type]
    assert compat.compare(event_type, schema, json.loads(json.dumps(schema))) == []


# --- git history: a repository of its own ----------------------------------------------------


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def _commit(repo: Path, schema: dict[str, Any], message: str) -> None:
    out = repo / "jsonschema"
    out.mkdir(exist_ok=True)
    (out / "community.forum.Fixture.v1.schema.json").write_text(json.dumps(schema))
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", message)


def _rendered(model: type[EventData]) -> dict[str, str]:
    return {"community.forum.Fixture.v1.schema.json": json.dumps(_schema(model))}


def _history(repo: Path, model: type[EventData]) -> list[tuple[str, str, list[Violation]]]:
    return list(compat.check_history(repo, repo / "jsonschema", _rendered(model)))


def test_history_compares_with_head_when_the_schema_changes(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q")
    _commit(tmp_path, _schema(Old), "v1")
    ((_, against, violations),) = _history(tmp_path, RemovedField)
    assert against == "HEAD"
    assert [(v.field, v.rule) for v in violations] == [("data.title", REMOVED)]
    ((_, _, violations),) = _history(tmp_path, Additive)
    assert violations == []


def test_history_checks_the_last_committed_change_on_a_clean_tree(tmp_path: Path) -> None:
    """A fresh clone of main: the working tree equals HEAD, so the last commit that changed the
    file is compared with the version before it (a breaking change merged is still caught)."""
    _git(tmp_path, "init", "-q")
    _commit(tmp_path, _schema(Old), "v1")
    _commit(tmp_path, _schema(NarrowedEnum), "narrow it")
    (tmp_path / "other.txt").write_text("a later, unrelated commit")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-q", "-m", "unrelated")
    ((_, against, violations),) = _history(tmp_path, NarrowedEnum)
    assert against.endswith("^")
    assert [(v.field, v.rule) for v in violations] == [("data.kind", NARROWED_ENUM)]


def test_history_passes_a_new_event_type(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q")
    (tmp_path / "README").write_text("x")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-q", "-m", "init")
    assert _history(tmp_path, Old) == [("community.forum.Fixture.v1", "(new)", [])]
    _commit(tmp_path, _schema(Old), "added")
    assert _history(tmp_path, Old) == [("community.forum.Fixture.v1", "(new)", [])]


def test_a_shallow_clone_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    _git(src, "init", "-q")
    _commit(src, _schema(Old), "v1")
    _commit(src, _schema(Additive), "v1 again")
    _git(tmp_path, "clone", "-q", "--depth", "1", f"file://{src}", "shallow")
    with pytest.raises(RuntimeError, match="unshallow"):
        _history(tmp_path / "shallow", Old)
