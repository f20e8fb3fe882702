"""Pure forum rules: thread status, privileges, the flag-hiding rule. No I/O here.
(The escalation lifecycle is domain/escalation.py.)"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from schemas import levels

from .errors import ConflictError, NotAllowedError

#: trust levels that unlock forum privileges (SPEC 4), defined once in the contract package
DOWNVOTE_LEVEL = levels.DOWNVOTE_LEVEL
FLAG_LEVEL = levels.FLAG_LEVEL
HIDE_AT_ONCE_LEVEL = levels.HIDE_AT_ONCE_LEVEL
FLAGS_TO_HIDE = levels.FLAGS_TO_HIDE
OVERRIDE_ROLES = ("moderator", "staff")


def thread_status(*, has_other_reply: bool, accepted: bool, escalation_open: bool) -> str:
    """open (no reply from others) → answered → solved; escalated wins while unresolved."""
    if escalation_open:
        return "escalated"
    if accepted:
        return "solved"
    return "answered" if has_other_reply else "open"


def effective_level(level: int, roles: Iterable[str]) -> int:
    """Moderators and staff have every privilege: they count as the top level."""
    return levels.TOP if set(roles).intersection(OVERRIDE_ROLES) else level


def can_moderate(roles: Iterable[str]) -> bool:
    return bool(set(roles).intersection(OVERRIDE_ROLES))


def check_author_or_moderator(user_id: str, roles: Iterable[str], author_id: str) -> None:
    if user_id != author_id and not can_moderate(roles):
        raise NotAllowedError("only the author or a moderator may do this")


def check_downvote(value: int, level: int) -> None:
    if value == -1 and level < DOWNVOTE_LEVEL:
        raise NotAllowedError(f"down-voting needs trust level {levels.describe(DOWNVOTE_LEVEL)}")


@dataclass(frozen=True)
class FlagOutcome:
    hides: bool


def check_flag(*, flagger_id: str, author_id: str, level: int, flaggers: Iterable[str]) -> None:
    if level < FLAG_LEVEL:
        raise NotAllowedError(f"flagging needs trust level {levels.describe(FLAG_LEVEL)}")
    if flagger_id == author_id:
        raise NotAllowedError("you cannot flag your own post")
    if flagger_id in set(flaggers):
        raise ConflictError("you have already flagged this post")


def flag_outcome(*, level: int, flags_before: int, already_hidden: bool) -> FlagOutcome:
    """A flag from level ≥ 3, or the third flag from level ≥ 2 users, hides the post once."""
    if already_hidden:
        return FlagOutcome(hides=False)
    return FlagOutcome(hides=level >= HIDE_AT_ONCE_LEVEL or flags_before + 1 >= FLAGS_TO_HIDE)
