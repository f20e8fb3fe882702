"""Errors a user can cause, mapped to problem+json by communitykit.problems."""

from communitykit.problems import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
)


class IdeaNotFoundError(NotFoundError):
    title = "Idea not found"


class NotAllowedError(ForbiddenError):
    title = "Not allowed"


class IllegalTransitionError(ConflictError):
    """A status move the workflow does not allow (the body names both states)."""

    title = "Illegal status transition"


class IdeaMergedError(ConflictError):
    """The idea is (being) merged into another one: it is frozen."""

    title = "Idea merged"


class MergeConflictError(ConflictError):
    title = "Merge not possible"


class InvalidCommandError(InvalidInputError):
    pass


__all__ = [
    "ConflictError",
    "IdeaMergedError",
    "IdeaNotFoundError",
    "IllegalTransitionError",
    "InvalidCommandError",
    "MergeConflictError",
    "NotAllowedError",
]
