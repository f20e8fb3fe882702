"""Writes against events: every 2xx write has exactly one event on its topic, and every
event of the forum and the ideas board has its committed write in the producer's store."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from pymongo import AsyncMongoClient

from schemas import forum as f
from schemas import ideas as i
from schemas import topics

from . import oracle
from .conftest import Load, Stack

Key = tuple[str, ...]


def event_key(data: Any) -> Key | None:
    """What one write's event is about (each write of the load has a unique one)."""
    if isinstance(data, f.PostCreated):
        return ("post", data.post_id)
    if isinstance(data, f.VoteCast):
        return ("vote", data.target_id, data.voter_id)
    if isinstance(data, f.AnswerAccepted):
        return ("accept", data.thread_id)
    if isinstance(data, i.IdeaSubmitted):
        return ("idea", data.idea_id)
    if isinstance(data, i.IdeaVoteCast):
        return ("idea-vote", data.target_id, data.voter_id)
    if isinstance(data, i.IdeaCommented):
        return ("comment", data.comment_id)
    if isinstance(data, i.IdeaStatusChanged):
        return ("status", data.idea_id)
    return None


def write_key(op: str, ids: dict[str, str]) -> Key:
    url = ids["url"]
    if op in ("thread", "reply"):
        return ("post", ids["post_id"])
    if op == "vote":
        return ("vote", url.rsplit("/", 2)[-2], ids["user"])
    if op == "accept":
        return ("accept", url.rsplit("/", 2)[-2])
    if op == "idea":
        return ("idea", ids["idea_id"])
    if op == "idea-vote":
        return ("idea-vote", url.rsplit("/", 2)[-2], ids["user"])
    if op == "comment":
        return ("comment", ids["comment_id"])
    return ("status", url.rsplit("/", 2)[-2])


def events_by_key(records: list[oracle.Record]) -> dict[Key, set[str]]:
    out: dict[Key, set[str]] = defaultdict(set)
    for r in records:
        if r.received is None or r.topic not in (topics.FORUM_EVENTS, topics.IDEAS_EVENTS):
            continue
        k = event_key(r.received.event.data)
        if k is not None:
            out[k].add(r.received.event.id)
    return out


def each_2xx_has_one_event(load: Load, records: list[oracle.Record]) -> list[str]:
    events = events_by_key(records)
    out = []
    for w in load.ok():
        k = write_key(w.op, w.ids)
        n = len(events.get(k, ()))
        if n != 1:
            out.append(f"{w.op} {w.status} {k}: {n} distinct events")
    return out


async def each_event_has_its_write(
    stack: Stack, mongo: AsyncMongoClient[dict[str, Any]], records: list[oracle.Record]
) -> list[str]:
    forum, ideas = mongo[stack.db("forum")], mongo[stack.db("ideas")]
    out = []
    for r in records:
        if r.received is None:
            continue
        d: Any = r.received.event.data
        if isinstance(d, f.PostCreated):
            found = await forum["posts"].find_one({"_id": d.post_id}, {"_id": 1})
        elif isinstance(d, f.VoteCast):
            vote = await forum["votes"].find_one({"_id": f"{d.target_id}:{d.voter_id}"})
            found = vote if vote and vote.get("value") == d.value else None
        elif isinstance(d, f.AnswerAccepted):
            found = await forum["threads"].find_one({"_id": d.thread_id}, {"_id": 1})
        elif isinstance(d, i.IdeaSubmitted | i.IdeaVoteCast | i.IdeaStatusChanged):
            idea_id = d.target_id if isinstance(d, i.IdeaVoteCast) else d.idea_id
            found = await ideas["ideas"].find_one({"_id": idea_id})
            if found and isinstance(d, i.IdeaStatusChanged) and found["status"] != d.to_status:
                found = None
        elif isinstance(d, i.IdeaCommented):
            found = await ideas["comments"].find_one({"_id": d.comment_id}, {"_id": 1})
        else:
            continue
        if found is None:
            out.append(f"{r.received.event.type} {event_key(d)} without its write")
    return out
