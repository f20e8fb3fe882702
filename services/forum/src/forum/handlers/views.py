"""Read views (JSON shapes of SPEC 3)."""

from __future__ import annotations

from typing import Any

from ..adapters.mongo import Doc


def post_view(p: Doc) -> dict[str, Any]:
    return {
        "post_id": p["_id"],
        "parent_post_id": p.get("parent_post_id"),
        "kind": p.get("kind"),
        "author_id": p["author_id"],
        "body": p["body"],
        "score": p.get("score", 0),
        "hidden": p.get("hidden", False),
        "created_at": p["created_at"],
        "edited_at": p.get("edited_at"),
    }


def thread_summary(t: Doc) -> dict[str, Any]:
    return {
        "thread_id": t["_id"],
        "kind": t["kind"],
        "title": t["title"],
        "author_id": t["author_id"],
        "group_id": t.get("group_id"),
        "tags": t.get("tags", []),
        "product_id": t.get("product_id"),
        "rating": t.get("rating"),
        "media": t.get("media", []),
        "status": t.get("status", "open"),
        "accepted_post_id": t.get("accepted_post_id"),
        "score": t.get("score", 0),
        "reply_count": t.get("reply_count", 0),
        "created_at": t["created_at"],
        "last_activity_at": t.get("last_activity_at", t["created_at"]),
    }


def escalation_view(t: Doc) -> dict[str, Any]:
    return {
        "thread_id": t["_id"],
        "title": t["title"],
        "question_author_id": t["author_id"],
        "state": t.get("escalation_state"),
        "reason": t.get("escalation_reason"),
        "asked_at": t["created_at"],
        "escalated_at": t.get("escalated_at"),
        "resolved_at": t.get("resolved_at"),
        "resolution": t.get("resolution"),
        "resolved_by": t.get("resolved_by"),
        "status": t.get("status"),
    }
