"""communitykit.text: the OpenAPI schema of a text field accepts exactly what the model does."""

from __future__ import annotations

import re
from typing import Annotated

import pytest
from pydantic import BaseModel, ValidationError

from communitykit.text import NOT_BLANK, STRIPPED, STRIPPED_LOWER, WHITESPACE, at_most, not_blank


class M(BaseModel):
    body: Annotated[str, not_blank(10), STRIPPED]
    label: Annotated[str, not_blank(5), STRIPPED_LOWER] = "x"
    note: Annotated[str, at_most(4), STRIPPED] = ""


def schema_accepts(value: str, n: int = 10) -> bool:
    """What a JSON Schema validator (or schemathesis) concludes from the document."""
    s = M.model_json_schema()["properties"]["body"]
    assert (s["minLength"], s["maxLength"], s["pattern"]) == (1, n, NOT_BLANK)
    return 1 <= len(value) <= n and re.search(s["pattern"], value) is not None


def model_accepts(value: str) -> bool:
    try:
        M(body=value)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize(
    "value",
    ["x", " x ", "x" * 10, "x" * 10 + " ", " " * 11, "", " ", "\ufeff", "\u3000a", *WHITESPACE],
)
def test_the_schema_and_the_model_agree(value: str) -> None:
    assert schema_accepts(value) == model_accepts(value)


def test_the_length_is_checked_as_sent_and_the_text_stored_stripped() -> None:
    assert M(body="\u00a0hello\ufeff\n", label=" UI ").model_dump() == {
        "body": "hello",
        "label": "ui",
        "note": "",
    }
    with pytest.raises(ValidationError):
        M(body="x" * 10 + "  ")  # passed when the length was checked after stripping
    assert M(body="x", note="  ").note == ""
