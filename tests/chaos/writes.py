"""Writes against events: every 2xx write has exactly one event on its topic, and every
event of the forum and the ideas board has its committed write in the producer's store;
for the gatherings' RSVP rush (:class:`Rush`), every acknowledged RSVP has its one change
event and stands in the member's record."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx
from pymongo import AsyncMongoClient

from schemas import forum as f
from schemas import gatherings as gx
from schemas import ideas as i
from schemas import topics

from ..conftest import auth
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


# ----------------------------------------------------------------------------- gatherings


@dataclass
class Rsvp:
    """One RSVP request and its answer (status 0: no answer, e.g. the replica was killed)."""

    gathering_id: str
    user: str
    wanted: str
    status: int
    answer: dict[str, Any] | None


@dataclass
class Rush:
    """RSVPs to gatherings of few seats, all at once through several replicas."""

    urls: list[str]
    writes: list[Rsvp] = field(default_factory=list)

    async def rsvp(self, http: httpx.AsyncClient, n: int, gid: str, user: str, wanted: str) -> None:
        status, answer = 0, None
        try:
            r = await http.put(
                f"{self.urls[n % len(self.urls)]}/gatherings/{gid}/rsvp",
                headers=auth(user),
                json={"status": wanted},
            )
            status = r.status_code
            answer = r.json() if status == 200 else None
        except httpx.HTTPError:
            pass
        self.writes.append(Rsvp(gid, user, wanted, status, answer))

    async def run(self, gid: str, users: list[str], wanted: str = "going") -> None:
        async with httpx.AsyncClient(timeout=60) as http:
            await asyncio.gather(*(self.rsvp(http, n, gid, u, wanted) for n, u in enumerate(users)))

    def ok(self) -> list[Rsvp]:
        return [w for w in self.writes if w.status == 200]


def each_acknowledged_rsvp_stands(rush: Rush, records: list[oracle.Record]) -> list[str]:
    """Every 200 RSVP has exactly one (non-promoted) RsvpChanged of that member to the
    status it answered, and the member's last change agrees with the last acknowledged
    answer (a waitlisted member may since have been promoted)."""
    mine: dict[tuple[str, str], list[gx.RsvpChanged]] = defaultdict(list)
    seen: set[str] = set()
    for r in records:
        if r.received is None or r.received.event.id in seen:
            continue
        seen.add(r.received.event.id)
        d = r.received.event.data
        if isinstance(d, gx.RsvpChanged):
            mine[(d.gathering_id, d.user_id)].append(d)
    out = []
    last: dict[tuple[str, str], str] = {}
    for w in rush.writes:
        key = (w.gathering_id, w.user)
        if w.status != 200:
            last.pop(key, None)  # its outcome is unknown: the final state may be either
            continue
        assert w.answer is not None
        own = [d for d in mine.get(key, []) if not d.promoted and d.to_status == w.answer["status"]]
        if len(own) != 1:
            out.append(f"rsvp {key} answered {w.answer['status']}: {len(own)} such events")
        last[key] = w.answer["status"]
    for key, answered in last.items():
        changes = sorted(mine.get(key, []), key=lambda d: d.sequence)
        final = changes[-1].to_status if changes else "none"
        if final != answered and not (answered == "waitlisted" and final == "going"):
            out.append(f"rsvp {key}: answered {answered}, the member's record ends {final}")
    return out
