"""Follows (issue 25 item 1): a member's level for a scope, explicit or by default.

Levels, as Discourse has them: ``watching`` (every new post is a P2 notification),
``tracking`` (new posts wait in the digest), ``normal`` (only what is addressed to you),
``muted`` (nothing but P0). Defaults: you watch what you asked, answered, submitted or voted
an idea on, and the gatherings you are going to; joining a group is ``normal`` on it (its
trending threads reach you). An explicit choice always beats a default.
"""

from __future__ import annotations

from typing import Literal

Scope = Literal["thread", "group", "tag", "idea", "gathering"]
Level = Literal["watching", "tracking", "normal", "muted"]
SCOPES: tuple[Scope, ...] = ("thread", "group", "tag", "idea", "gathering")
LEVELS: tuple[Level, ...] = ("watching", "tracking", "normal", "muted")
#: the levels that receive followed activity (P2)
ACTIVE = ("watching", "tracking")


def target_key(scope: str, target: str) -> str:
    return f"{scope}|{target}"


def follow_id(member: str, scope: str, target: str) -> str:
    return f"{member}|{scope}|{target}"


def most_specific(levels: list[str | None]) -> str | None:
    """The first level set, from the most specific scope (thread) to the least (tag)."""
    return next((lv for lv in levels if lv is not None), None)
