"""The reputation rules of SPEC 4 (version 1), as one readable table.

Levels (names, thresholds) live in the contract package, ``schemas.levels``; they are
re-exported here so the domain reads every SPEC 4 number through this module.

Everything else in the domain reads these numbers; nothing else hard-codes a point value.
"""

from __future__ import annotations

from datetime import date
from typing import Final

from schemas.levels import level_for as level_for
from schemas.levels import level_name as level_name
from schemas.levels import next_level as next_level

#: SPEC 4 table: (what happened, who gets it) → points
POINTS: Final[dict[str, int]] = {
    # up-vote on a question, discussion, article, media or review → its author; also a
    # "helpful" vote on a media item of a gallery (version 2, issue 24: MediaVoted)
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

#: SPEC 4 levels: defined once, in the contract package (schemas.levels)
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
#: SPEC 4 version 2 (issue 23 item 8): badges from gatherings
GATHERING_BADGES: Final = ("attendee", "host")
PROBLEM_SOLVER_ACCEPTS: Final = 10
POPULAR_IDEA_VOTES: Final = 10
REVIEWER_REVIEWS: Final = 5
#: attendee: checked in at this many distinct gatherings
ATTENDEE_GATHERINGS: Final = 3
#: host: hosted a gathering at which this many members (other than the host) checked in
HOST_CHECKINS: Final = 10
CHAMPION_WINDOW_DAYS: Final = 30
CHAMPION_KINDS_NEEDED: Final = 4
#: the five activity kinds of the champion badge
CHAMPION_KINDS: Final = ("asked", "answered", "voted", "ideas", "wrote")


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
