"""The reputation rules of SPEC 4 (version 1), as one readable table.

Everything else in the domain reads these numbers; nothing else hard-codes a point value.
"""

from __future__ import annotations

from datetime import date
from typing import Final

#: SPEC 4 table: (what happened, who gets it) → points
POINTS: Final[dict[str, int]] = {
    # up-vote on a question, discussion, article, media or review → its author
    "upvote.post": 5,
    # up-vote on a reply (an answer) → its author
    "upvote.reply": 10,
    # down-vote on any post → its author
    "downvote.received": -2,
    # down-vote cast on a reply → the voter
    "downvote.cast_on_reply": -1,
    # answer accepted → the answer author (not when accepting your own answer)
    "accept.answer_author": 15,
    # answer accepted → the question author
    "accept.question_author": 2,
    # up-vote on an idea → its author
    "upvote.idea": 5,
    # idea moved to planned / completed → its author
    "idea.planned": 10,
    "idea.completed": 25,
}

#: SPEC 4 "daily cap": standing up-vote points per user per UTC day (day the vote was cast)
DAILY_UPVOTE_CAP: Final = 200
#: SPEC 4 "serial voting": votes of one voter on one author per UTC day that count
SERIAL_VOTES_COUNTED: Final = 5
#: SPEC 4 "floor": everyone starts at 1; shown = max(FLOOR, START + sum of effects)
START: Final = 1
FLOOR: Final = 1

#: SPEC 4 levels (Discourse-like trust levels): (level, name, minimum reputation)
LEVELS: Final = (
    (0, "new", 0),
    (1, "basic", 10),
    (2, "member", 100),
    (3, "regular", 500),
    (4, "leader", 2000),
)

#: SPEC 4 badges (each awarded once)
BADGES: Final = (
    "first-question",
    "first-answer",
    "helpful",
    "problem-solver",
    "popular-idea",
    "visionary",
    "reviewer",
    "champion",
)
PROBLEM_SOLVER_ACCEPTS: Final = 10
POPULAR_IDEA_VOTES: Final = 10
REVIEWER_REVIEWS: Final = 5
CHAMPION_WINDOW_DAYS: Final = 30
CHAMPION_KINDS_NEEDED: Final = 4
#: the five activity kinds of the champion badge
CHAMPION_KINDS: Final = ("asked", "answered", "voted", "ideas", "wrote")


def level_for(reputation: int) -> int:
    level = 0
    for lvl, _name, minimum in LEVELS:
        if reputation >= minimum:
            level = lvl
    return level


def level_name(level: int) -> str:
    return LEVELS[level][1]


def next_level(reputation: int) -> tuple[int | None, int]:
    """(next level or None at the top, points still needed)."""
    current = level_for(reputation)
    if current >= LEVELS[-1][0]:
        return None, 0
    nxt = LEVELS[current + 1]
    return nxt[0], max(0, nxt[2] - reputation)


def upvote_points(target_kind: str) -> int:
    if target_kind == "reply":
        return POINTS["upvote.reply"]
    if target_kind == "idea":
        return POINTS["upvote.idea"]
    return POINTS["upvote.post"]


def month_key(day: date) -> str:
    """The leaderboard's month of a UTC day (``period=month``)."""
    return f"m{day.year}_{day.month:02d}"


def week_key(day: date) -> str:
    """The leaderboard's ISO week of a UTC day (``period=week``)."""
    iso = day.isocalendar()
    return f"w{iso.year}_{iso.week:02d}"
