"""Events published by the forum service on ``forum.events`` (SPEC 2.3), version 1.

Key: the thread id, or the group id for group events.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from .envelope import EventData, UtcDatetime, register

PostKind = Literal["question", "discussion", "article", "media", "review", "reply"]
ThreadKind = Literal["question", "discussion", "article", "media", "review"]
VoteValue = Literal[-1, 0, 1]


class ForumEvent(EventData):
    producer: ClassVar[str] = "forum"


class MediaItem(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    url: str
    media_type: str
    caption: str | None = None


@register
class GroupCreated(ForumEvent):
    event_name: ClassVar[str] = "GroupCreated"
    group_id: str
    name: str
    owner_id: str


@register
class GroupUpdated(ForumEvent):
    event_name: ClassVar[str] = "GroupUpdated"
    group_id: str
    name: str
    description: str
    updated_by: str


@register
class GroupArchived(ForumEvent):
    event_name: ClassVar[str] = "GroupArchived"
    group_id: str
    archived_by: str


@register
class GroupJoined(ForumEvent):
    event_name: ClassVar[str] = "GroupJoined"
    group_id: str
    user_id: str


@register
class GroupLeft(ForumEvent):
    event_name: ClassVar[str] = "GroupLeft"
    group_id: str
    user_id: str


@register
class PostCreated(ForumEvent):
    event_name: ClassVar[str] = "PostCreated"
    post_id: str
    thread_id: str
    parent_post_id: str | None = None
    kind: PostKind
    author_id: str
    group_id: str | None = None
    title: str | None = None
    tags: list[str] = Field(default_factory=list)
    product_id: str | None = None
    rating: int | None = Field(default=None, ge=1, le=5)
    media: list[MediaItem] = Field(default_factory=list)
    body_length: int = Field(ge=0)
    #: the post's text, for the search index (optional v1 field, an additive change)
    body: str | None = None
    #: replies: the thread's author (the asker), so that a projection counts replies "by
    #: someone other than the asker" without the opening post (optional, additive)
    thread_author_id: str | None = None
    #: replies: written by a ``support`` user (a support reply resolves an escalation;
    #: optional, additive)
    by_support: bool | None = None
    #: ids of items of the media service (services/media) the post shows; the forum checked
    #: them against its projection of media.events (optional, additive)
    media_ids: list[str] = Field(default_factory=list)


@register
class PostEdited(ForumEvent):
    event_name: ClassVar[str] = "PostEdited"
    post_id: str
    thread_id: str
    editor_id: str
    fields: list[str]
    #: the new values of the changed fields (None: unchanged), for the search index
    #: (optional v1 fields, an additive change); title and tags exist on opening posts only
    title: str | None = None
    body: str | None = None
    tags: list[str] | None = None


@register
class PostDeleted(ForumEvent):
    event_name: ClassVar[str] = "PostDeleted"
    post_id: str
    thread_id: str
    author_id: str
    deleted_by: str
    kind: PostKind
    #: the thread's author (the asker), for reply counters (optional, additive)
    thread_author_id: str | None = None


@register
class PostFlagged(ForumEvent):
    event_name: ClassVar[str] = "PostFlagged"
    post_id: str
    thread_id: str
    flagger_id: str
    reason: str


@register
class PostHidden(ForumEvent):
    event_name: ClassVar[str] = "PostHidden"
    post_id: str
    thread_id: str
    author_id: str
    reason: str


@register
class PostRestored(ForumEvent):
    """A moderator made a hidden post visible again (the reverse of ``PostHidden``)."""

    event_name: ClassVar[str] = "PostRestored"
    post_id: str
    thread_id: str
    author_id: str
    restored_by: str


@register
class FlagsDismissed(ForumEvent):
    """A moderator reviewed a post's open flags and found nothing wrong: the flags are cleared."""

    event_name: ClassVar[str] = "FlagsDismissed"
    post_id: str
    thread_id: str
    dismissed_by: str
    flag_count: int = Field(ge=0)


@register
class VoteCast(ForumEvent):
    """A vote on a post. Its effect is ``value - previous_value``."""

    event_name: ClassVar[str] = "VoteCast"
    target_type: Literal["post"] = "post"
    target_id: str
    thread_id: str
    target_kind: PostKind
    target_author_id: str
    voter_id: str
    value: VoteValue
    previous_value: VoteValue


@register
class AnswerAccepted(ForumEvent):
    event_name: ClassVar[str] = "AnswerAccepted"
    thread_id: str
    answer_post_id: str
    answer_author_id: str
    question_author_id: str


@register
class AnswerUnaccepted(ForumEvent):
    event_name: ClassVar[str] = "AnswerUnaccepted"
    thread_id: str
    answer_post_id: str
    answer_author_id: str
    question_author_id: str


@register
class QuestionEscalated(ForumEvent):
    event_name: ClassVar[str] = "QuestionEscalated"
    thread_id: str
    question_author_id: str
    asked_at: UtcDatetime
    escalated_at: UtcDatetime
    waited_seconds: int = Field(ge=0)
    reason: Literal["unanswered", "requested"]


@register
class EscalationAcknowledged(ForumEvent):
    """Support has seen the escalation and is working on it (not yet resolved)."""

    event_name: ClassVar[str] = "EscalationAcknowledged"
    thread_id: str
    acknowledged_by: str


@register
class EscalationReopened(ForumEvent):
    """The asker reopened a resolved escalation: the answer did not help."""

    event_name: ClassVar[str] = "EscalationReopened"
    thread_id: str
    reopened_by: str
    reason: str


@register
class EscalationResolved(ForumEvent):
    event_name: ClassVar[str] = "EscalationResolved"
    thread_id: str
    resolved_by: str
    resolution: Literal["answered_by_community", "answered_by_support", "closed"]
