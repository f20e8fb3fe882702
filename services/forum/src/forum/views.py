"""The read side: pydantic response models (so the OpenAPI document states every response)
and the builders from stored documents. JSON shapes of SPEC 3."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from .adapters.mongo import Doc
from .domain.escalation import Escalation
from .domain.thread import Thread, escalation_of

Status = Literal["open", "answered", "solved", "escalated", "deleted"]


class View(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Problem(View):
    """RFC 9457 problem+json (communitykit.problems)."""

    model_config = ConfigDict(extra="allow")
    type: str = "about:blank"
    title: str
    status: int
    detail: str
    field: str | None = None


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The 4xx responses a route declares (all problem+json)."""
    why = {
        401: "no valid bearer token",
        403: "not allowed for this user",
        404: "no such thread, post or group",
        409: "conflicts with the current state",
        422: "invalid input (field names the culprit)",
    }
    return {
        c: {
            "model": Problem,
            "description": why[c],
            "content": {"application/problem+json": {}},
        }
        for c in codes
    }


class EscalationView(View):
    state: Literal["open", "acknowledged", "resolved"]
    reason: Literal["unanswered", "requested"]
    round: int
    escalated_at: datetime
    queued_at: datetime
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    resolution: Literal["answered_by_community", "answered_by_support", "closed"] | None
    resolved_by: str | None
    resolved_at: datetime | None
    confirmed: bool


def escalation_view(e: Escalation | None) -> EscalationView | None:
    if e is None:
        return None
    return EscalationView(
        state=e.state,
        reason=e.reason,
        round=e.round,
        escalated_at=e.escalated_at,
        queued_at=e.queued_at,
        acknowledged_by=e.acknowledged_by,
        acknowledged_at=e.acknowledged_at,
        resolution=e.resolution,
        resolved_by=e.resolved_by,
        resolved_at=e.resolved_at,
        confirmed=e.confirmed,
    )


class PostView(View):
    post_id: str
    parent_post_id: str | None
    kind: str | None
    author_id: str
    #: the author's trust level (0-4, from reputation.events), so readers can weigh advice
    author_level: int
    body: str
    score: int
    hidden: bool
    #: why it was hidden: shown to its author and to moderators only (null for others)
    hidden_reason: str | None = None
    created_at: datetime
    edited_at: datetime | None
    #: items of the media service the post shows (GET /media/{id} there)
    media_ids: list[str] = []


def post_view(p: Doc, level: int = 0, *, with_reason: bool = False) -> PostView:
    return PostView(
        post_id=p["_id"],
        parent_post_id=p.get("parent_post_id"),
        kind=p.get("kind"),
        author_id=p["author_id"],
        author_level=level,
        body=p["body"],
        score=p.get("score", 0),
        hidden=p.get("hidden", False),
        hidden_reason=p.get("hidden_reason") if with_reason and p.get("hidden") else None,
        created_at=p["created_at"],
        edited_at=p.get("edited_at"),
        media_ids=p.get("media_ids") or [],
    )


class MediaView(View):
    url: str
    media_type: str
    caption: str | None = None


class ThreadSummary(View):
    thread_id: str
    kind: str
    title: str
    author_id: str
    group_id: str | None
    tags: list[str]
    product_id: str | None
    rating: int | None
    media: list[MediaView]
    status: Status
    accepted_post_id: str | None
    score: int
    reply_count: int
    created_at: datetime
    last_activity_at: datetime


def thread_summary(t: Doc) -> ThreadSummary:
    return ThreadSummary(
        thread_id=t["_id"],
        kind=t["kind"],
        title=t["title"],
        author_id=t["author_id"],
        group_id=t.get("group_id"),
        tags=t.get("tags", []),
        product_id=t.get("product_id"),
        rating=t.get("rating"),
        media=[MediaView(**m) for m in t.get("media", [])],
        status=t.get("status", "open"),
        accepted_post_id=t.get("accepted_post_id"),
        score=t.get("score", 0),
        reply_count=t.get("reply_count", 0),
        created_at=t["created_at"],
        last_activity_at=t.get("last_activity_at", t["created_at"]),
    )


class ThreadDetail(ThreadSummary):
    opening_post_id: str
    #: the escalation as the asker sees it (null: never escalated)
    escalation: EscalationView | None
    posts: list[PostView]


class ThreadPage(View):
    items: list[ThreadSummary]
    next_cursor: str | None


class EscalationItem(View):
    thread_id: str
    title: str
    question_author_id: str
    state: Literal["open", "acknowledged", "resolved"]
    reason: Literal["unanswered", "requested"]
    round: int
    asked_at: datetime
    escalated_at: datetime
    queued_at: datetime
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolution: str | None
    resolved_by: str | None
    status: Status


def escalation_item(t: Doc) -> EscalationItem:
    e = escalation_of(t)
    assert e is not None  # listed by an escalation field
    return EscalationItem(
        thread_id=t["_id"],
        title=t["title"],
        question_author_id=t["author_id"],
        state=e.state,
        reason=e.reason,
        round=e.round,
        asked_at=t["created_at"],
        escalated_at=e.escalated_at,
        queued_at=e.queued_at,
        acknowledged_by=e.acknowledged_by,
        resolved_at=e.resolved_at,
        resolution=e.resolution,
        resolved_by=e.resolved_by,
        status=t.get("status", "open"),
    )


class EscalationPage(View):
    items: list[EscalationItem]
    next_cursor: str | None


class EscalationOut(View):
    thread_id: str
    status: Status
    escalation: EscalationView | None


def escalation_out(t: Thread) -> EscalationOut:
    return EscalationOut(
        thread_id=t.id,
        status=t.status,  # type: ignore[arg-type]
        escalation=escalation_view(t.escalation),
    )


class ThreadCreated(View):
    thread_id: str
    post_id: str


class ReplyCreated(View):
    post_id: str


class Edited(View):
    post_id: str
    fields: list[str]


class Score(View):
    score: int


class Accepted(View):
    thread_id: str
    accepted_post_id: str | None
