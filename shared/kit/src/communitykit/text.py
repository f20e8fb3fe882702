"""Text input whose OpenAPI schema says exactly what the API accepts.

``StringConstraints(strip_whitespace=True, max_length=N)`` checks the length *after*
stripping (a body of N + 5 characters ending in spaces passes while the document says
``maxLength: N``) and rejects a blank string the document calls valid (``minLength: 1``).
``Annotated[str, not_blank(N), STRIPPED]`` checks the raw length, states "not blank" as a
``pattern`` JSON Schema and Python read the same way (the whitespace set is spelled out:
ECMAScript's ``\\s`` and Python's ``str.strip`` disagree on some characters), then strips.
"""

from __future__ import annotations

from pydantic import AfterValidator, BeforeValidator, StringConstraints

#: the union of Python's and ECMAScript's whitespace (what ``str.strip`` removes plus
#: U+FEFF), as literal characters: no escape syntax that one regex engine lacks
WHITESPACE = "".join(
    chr(c)
    for c in (
        *range(0x09, 0x0E),  # \t \n \v \f \r
        *range(0x1C, 0x21),  # file/group/record/unit separators, space
        0x85,
        0xA0,
        0x1680,
        *range(0x2000, 0x200B),
        0x2028,
        0x2029,
        0x202F,
        0x205F,
        0x3000,
        0xFEFF,
    )
)
#: at least one character that is not whitespace (JSON Schema patterns are unanchored)
NOT_BLANK = f"[^{WHITESPACE}]"


def _strip(value: str) -> str:
    return value.strip(WHITESPACE)


def _strip_lower(value: str) -> str:
    return value.strip(WHITESPACE).lower()


#: stores the text without the whitespace around it (after the length was checked as sent)
STRIPPED = AfterValidator(_strip)
#: the same, lower-cased (labels, tags)
STRIPPED_LOWER = AfterValidator(_strip_lower)


def not_blank(max_length: int) -> StringConstraints:
    """At most ``max_length`` characters as sent, not empty nor only whitespace."""
    return StringConstraints(min_length=1, max_length=max_length, pattern=NOT_BLANK)


def at_most(max_length: int) -> StringConstraints:
    """At most ``max_length`` characters as sent; blank allowed."""
    return StringConstraints(max_length=max_length)


def _not_a_boolean(value: object) -> object:
    """JSON ``true``/``false`` are not the numbers 1/0 (pydantic's ``Literal[1, 0]`` would take
    them: ``True == 1``); the document says the value is an integer."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not a boolean")
    return value


#: put before a numeric ``Literal``/``int`` whose document says integer: booleans are 422;
#: after any ``Field(ge=..., le=...)`` (placed before it, pydantic leaves the bounds out of the
#: document as unknown ``ge``/``le`` keys)
NOT_BOOLEAN = BeforeValidator(_not_a_boolean)
