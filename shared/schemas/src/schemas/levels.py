"""Trust levels (SPEC 4), defined once: numbers, names, reputation thresholds and the forum
privileges they unlock. Reputation computes levels with these thresholds and publishes them
in ``LevelChanged``; the forum reads them back and gates privileges with the constants below.
Part of the contract: ``LevelChanged.from_level`` / ``to_level`` are these numbers.
"""

from __future__ import annotations

from typing import Final, NamedTuple


class Level(NamedTuple):
    number: int
    name: str
    #: the lowest reputation at this level
    minimum: int


NEW: Final = 0
BASIC: Final = 1
MEMBER: Final = 2
REGULAR: Final = 3
LEADER: Final = 4

#: SPEC 4 (like Discourse trust levels): 0 new (< 10), 1 basic (≥ 10), 2 member (≥ 100),
#: 3 regular (≥ 500), 4 leader (≥ 2000); indexed by level number
LEVELS: Final = (
    Level(NEW, "new", 0),
    Level(BASIC, "basic", 10),
    Level(MEMBER, "member", 100),
    Level(REGULAR, "regular", 500),
    Level(LEADER, "leader", 2000),
)
#: the highest level (moderators and staff act with its privileges)
TOP: Final = LEADER

# --- forum privileges (SPEC 4) ---
#: level ≥ 1 may down-vote
DOWNVOTE_LEVEL: Final = BASIC
#: level ≥ 2 may flag
FLAG_LEVEL: Final = MEMBER
#: a flag from level ≥ 3 hides a post at once
HIDE_AT_ONCE_LEVEL: Final = REGULAR
#: ... and so do this many flags from users of level ≥ FLAG_LEVEL
FLAGS_TO_HIDE: Final = 3


def level_for(reputation: int) -> int:
    """The level of a reputation (everyone starts at 1 reputation, level 0)."""
    level = NEW
    for lvl in LEVELS:
        if reputation >= lvl.minimum:
            level = lvl.number
    return level


def level_name(level: int) -> str:
    return LEVELS[level].name


def next_level(reputation: int) -> tuple[int | None, int]:
    """(next level or None at the top, reputation points still needed to reach it)."""
    current = level_for(reputation)
    if current >= TOP:
        return None, 0
    nxt = LEVELS[current + 1]
    return nxt.number, max(0, nxt.minimum - reputation)


def describe(level: int) -> str:
    """``2 (member)``: how error messages name a level."""
    return f"{level} ({level_name(level)})"
