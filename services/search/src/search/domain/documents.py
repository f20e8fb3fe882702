"""What the index holds: one document per thread and per idea, folded from events (pure).

A document's *state* is a plain dict (stored in the index as JSON, next to the searchable
fields derived from it), so the consumer can load it, apply a batch of events in order and
write it back. Every event of a thread is on one partition of ``forum.events`` (key: thread
id), every event of an idea on one partition of ``ideas.events`` (key: idea id), so the
events of one document always arrive in the order they happened.

What is searchable is derived from the state by :func:`searchable`: a deleted or hidden
opening post takes its thread out of the results, a deleted or hidden reply takes its text
out of the thread. Deleted text is dropped from the state; hidden text is kept (not
searchable) so that a moderator's restore (``PostRestored``) brings it back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from schemas.forum import (
    AnswerAccepted,
    AnswerUnaccepted,
    PostCreated,
    PostDeleted,
    PostEdited,
    PostHidden,
    PostRestored,
)
from schemas.ideas import IdeasMerged, IdeaStatusChanged, IdeaSubmitted

State = dict[str, Any]


def thread_key(thread_id: str) -> str:
    return f"thread:{thread_id}"


def idea_key(idea_id: str) -> str:
    return f"idea:{idea_id}"


def key_of(data: Any) -> str | None:
    """The document an event changes, or None when search does not care about it."""
    if isinstance(data, PostCreated | PostEdited | PostDeleted | PostHidden | PostRestored):
        return thread_key(data.thread_id)
    if isinstance(data, AnswerAccepted | AnswerUnaccepted):
        return thread_key(data.thread_id)
    if isinstance(data, IdeaSubmitted | IdeaStatusChanged):
        return idea_key(data.idea_id)
    if isinstance(data, IdeasMerged):
        return idea_key(data.source_idea_id)
    return None


def new_state(key: str) -> State:
    kind, _, ident = key.partition(":")
    if kind == "thread":
        return {
            "type": "thread",
            "id": ident,
            "posts": {},
            "accepted_post_id": None,
            "deleted_posts": [],
        }
    return {"type": "idea", "id": ident}


def apply(state: State, data: Any) -> None:
    """Fold one event into a document's state (in place)."""
    if isinstance(data, PostCreated):
        if data.post_id in state["posts"] or data.post_id in state["deleted_posts"]:
            return  # a duplicate (the outbox relay publishes at least once)
        state["posts"][data.post_id] = {"body": data.body or "", "hidden": False}
        if data.parent_post_id is None:
            state.update(
                opening_post_id=data.post_id,
                kind=data.kind,
                title=data.title or "",
                group_id=data.group_id,
                tags=list(data.tags),
                product_id=data.product_id,
            )
    elif isinstance(data, PostEdited):
        post = state["posts"].get(data.post_id)
        if post is not None and data.body is not None:
            post["body"] = data.body
        if data.post_id == state.get("opening_post_id"):
            if data.title is not None:
                state["title"] = data.title
            if data.tags is not None:
                state["tags"] = list(data.tags)
    elif isinstance(data, PostDeleted):
        state["posts"].pop(data.post_id, None)  # deleted text leaves the state too
        if data.post_id not in state["deleted_posts"]:
            state["deleted_posts"].append(data.post_id)
        if data.post_id == state.get("opening_post_id"):
            state["deleted"] = True  # the thread is gone with its opening post
            state["posts"] = {}
        if state.get("accepted_post_id") == data.post_id:
            state["accepted_post_id"] = None
    elif isinstance(data, PostHidden | PostRestored):
        # the thread's partition order is the order the forum decided them in; a duplicate
        # from the at-least-once relay is followed by a republish of every later event of
        # the thread's outbox, so the last one still decides
        post = state["posts"].get(data.post_id)
        if post is not None:
            post["hidden"] = isinstance(data, PostHidden)
    elif isinstance(data, AnswerAccepted):
        state["accepted_post_id"] = data.answer_post_id
    elif isinstance(data, AnswerUnaccepted):
        if state.get("accepted_post_id") == data.answer_post_id:
            state["accepted_post_id"] = None
    elif isinstance(data, IdeaSubmitted):
        if state.get("title"):
            return  # a duplicate
        state.update(
            title=data.title,
            body=data.description or "",
            category=data.category,
            product_area=data.product_area,
            status="new",
            merged_into=state.get("merged_into"),
        )
    elif isinstance(data, IdeaStatusChanged):
        state["status"] = data.to_status
    elif isinstance(data, IdeasMerged):
        state["merged_into"] = data.target_idea_id


@dataclass(frozen=True)
class Searchable:
    """The searchable fields of one document (empty title: not searchable at all)."""

    type: str
    id: str
    title: str = ""
    body: str = ""
    accepted: str = ""
    replies: list[str] = field(default_factory=list)
    kind: str = ""
    group_id: str | None = None
    tags: list[str] = field(default_factory=list)
    product_id: str | None = None
    solved: bool = False
    merged_into: str | None = None


def searchable(state: State) -> Searchable | None:
    """The text and filters a document is found by, or None when it must not be found."""
    if state["type"] == "idea":
        if not state.get("title"):
            return None  # merged before we saw it submitted: nothing to find yet
        return Searchable(
            type="idea",
            id=state["id"],
            title=state["title"],
            body=state.get("body", ""),
            kind="idea",
            merged_into=state.get("merged_into"),
        )
    posts: dict[str, Any] = state["posts"]
    opening = posts.get(state.get("opening_post_id") or "")
    if state.get("deleted") or opening is None or opening["hidden"]:
        return None
    accepted_id = state.get("accepted_post_id")
    accepted = posts.get(accepted_id or "")
    visible_accepted = accepted is not None and not accepted["hidden"]
    return Searchable(
        type="thread",
        id=state["id"],
        title=state.get("title", ""),
        body=opening["body"],
        accepted=accepted["body"] if accepted is not None and visible_accepted else "",
        replies=[
            p["body"]
            for pid, p in posts.items()
            if pid not in (state["opening_post_id"], accepted_id) and not p["hidden"] and p["body"]
        ],
        kind=state.get("kind", ""),
        group_id=state.get("group_id"),
        tags=list(state.get("tags", [])),
        product_id=state.get("product_id"),
        solved=accepted_id is not None,
    )
