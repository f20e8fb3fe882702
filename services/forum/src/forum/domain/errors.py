"""Errors a user can cause, mapped to problem+json by communitykit.problems."""

from communitykit.problems import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
)


class ThreadNotFoundError(NotFoundError):
    title = "Thread not found"


class PostNotFoundError(NotFoundError):
    title = "Post not found"


class GroupNotFoundError(NotFoundError):
    title = "Group not found"


class NotAllowedError(ForbiddenError):
    title = "Not allowed"


class InvalidCommandError(InvalidInputError):
    pass


__all__ = [
    "ConflictError",
    "GroupNotFoundError",
    "InvalidCommandError",
    "NotAllowedError",
    "PostNotFoundError",
    "ThreadNotFoundError",
]
