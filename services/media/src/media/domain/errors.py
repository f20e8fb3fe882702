"""Errors a user can cause, each mapped to problem+json by the kit (communitykit.problems)."""

from __future__ import annotations

from communitykit.problems import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    ProblemError,
)


class MediaNotFoundError(NotFoundError):
    title = "No such media"


class RenditionNotFoundError(NotFoundError):
    title = "No such rendition"


class GalleryNotFoundError(NotFoundError):
    title = "No such gallery"


class NotAllowedError(ForbiddenError):
    pass


class StateConflictError(ConflictError):
    """The item is not in a state that allows this (not ready, already decided...)."""


class BadUploadError(InvalidInputError):
    title = "Bad upload"


class PayloadTooLargeError(ProblemError):
    status, title = 413, "Payload too large"


class UnsupportedUploadError(ProblemError):
    status, title = 415, "Unsupported media type"


class QuotaExceededError(ProblemError):
    status, title = 429, "Upload quota reached"

    def __init__(self, detail: str, *, retry_after: int, **extra: object) -> None:
        super().__init__(detail, field="file", **extra)
        #: read by communitykit.problems: the Retry-After header
        self.retry_after = retry_after


class RangeNotSatisfiableError(ProblemError):
    status, title = 416, "Range not satisfiable"


class Settled(Exception):
    """The worker met an item that is no longer ``processing``: a redelivery, nothing to do."""
