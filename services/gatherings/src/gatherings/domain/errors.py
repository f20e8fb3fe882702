"""Errors a user can cause, mapped to problem+json by communitykit.problems."""

from communitykit.problems import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
)


class GatheringNotFoundError(NotFoundError):
    title = "Gathering not found"


class QuestionNotFoundError(NotFoundError):
    title = "Question not found"


class GiveawayNotFoundError(NotFoundError):
    title = "Giveaway not found"


class NotAllowedError(ForbiddenError):
    title = "Not allowed"


class NotEligibleError(ForbiddenError):
    """A member who may not enter a giveaway; ``detail`` says why."""

    title = "Not eligible"


class GatheringClosedError(ConflictError):
    """The gathering is cancelled, over, or its RSVPs are closed."""

    title = "Gathering closed"


class GiveawayStateError(ConflictError):
    title = "Giveaway not in that state"


class InvalidCommandError(InvalidInputError):
    pass


__all__ = [
    "ConflictError",
    "GatheringClosedError",
    "GatheringNotFoundError",
    "GiveawayNotFoundError",
    "GiveawayStateError",
    "InvalidCommandError",
    "NotAllowedError",
    "NotEligibleError",
    "QuestionNotFoundError",
]
