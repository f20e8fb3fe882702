"""The read side: response models (the OpenAPI document states every response) and the
functions that shape aggregates into them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from .domain.gathering import Gathering, member_key, occ_id
from .domain.giveaway import Giveaway
from .domain.question import Question


class Created(BaseModel):
    gathering_id: str


class GuestView(BaseModel):
    user_id: str
    display_name: str
    bio: str


class MyRsvp(BaseModel):
    status: str
    #: place in the waitlist (from 1) while waitlisted
    position: int | None
    checked_in: bool


class RecapView(BaseModel):
    body: str
    takeaways: list[str]
    by: str
    at: datetime


class GatheringView(BaseModel):
    gathering_id: str
    title: str
    description: str
    host_id: str
    group_id: str | None
    starts_at: datetime
    ends_at: datetime
    timezone: str
    recurrence: str | None
    rsvp_closes_at: datetime | None
    join_url: str | None
    guests: list[GuestView]
    #: upcoming | live | past | cancelled
    status: str
    capacity: int | None
    #: the occurrence (its start) that seats_taken, waitlist_length and my_rsvp are of: the
    #: one asked for (``?occurrence=``), by default the first not over yet
    occurrence: datetime
    seats_taken: int
    waitlist_length: int
    created_at: datetime
    recap: RecapView | None
    #: the caller's RSVP (null without a token)
    my_rsvp: MyRsvp | None = None


class GatheringPage(BaseModel):
    items: list[GatheringView]
    next_cursor: str | None


class RsvpView(BaseModel):
    status: str
    #: place in the occurrence's waitlist (from 1) while waitlisted
    position: int | None


class CheckedIn(BaseModel):
    gathering_id: str
    checked_in_at: datetime


class QuestionCreated(BaseModel):
    question_id: str


class AnswerView(BaseModel):
    body: str
    by: str
    by_guest: bool
    at: datetime


class QuestionView(BaseModel):
    question_id: str
    gathering_id: str
    author_id: str
    body: str
    votes: int
    created_at: datetime
    answer: AnswerView | None


class QuestionPage(BaseModel):
    items: list[QuestionView]
    next_cursor: str | None


class GiveawayCreated(BaseModel):
    giveaway_id: str
    seed_commitment: str


class GiveawayView(BaseModel):
    giveaway_id: str
    gathering_id: str
    prize: str
    winners: int
    closes_at: datetime
    seed_commitment: str
    min_level: int
    rsvp_required: bool
    checked_in_required: bool
    exclude_roles: list[str]
    entrant_count: int
    closed: bool
    entrants_hash: str | None
    #: the current winners, once drawn
    drawn_winners: list[str] | None
    #: the caller has entered (null without a token)
    entered: bool | None = None


class Entry(BaseModel):
    giveaway_id: str
    entered: bool


class Drawn(BaseModel):
    giveaway_id: str
    round: int
    winners: list[str]


class DrawView(BaseModel):
    round: int
    entrants_hash: str
    winners: list[str]
    replaced: list[str]


class Proof(BaseModel):
    giveaway_id: str
    gathering_id: str
    algorithm: str
    seed_commitment: str
    #: revealed by the draw (null before)
    seed: str | None
    winner_count: int
    #: sorted; null until entries close
    entrants: list[str] | None
    entrants_hash: str | None
    draws: list[DrawView]
    winners: list[str] | None


class CalendarToken(BaseModel):
    token: str
    #: the feed's path (add the service's base URL)
    url: str


def gathering_view(
    g: Gathering, now: datetime, occurrence: datetime | None = None, mine: MyRsvp | None = None
) -> GatheringView:
    """The gathering at one occurrence (default: the first not over yet); ``mine``: the
    caller's RSVP to it (handlers/gatherings.py reads it from the member's record)."""
    start = occurrence or g.current_occurrence(now)
    seats = g.seats_of(occ_id(start))
    return GatheringView(
        gathering_id=g.gathering_id,
        title=g.title,
        description=g.description,
        host_id=g.host_id,
        group_id=g.group_id,
        starts_at=g.starts_at,
        ends_at=g.ends_at,
        timezone=g.timezone,
        recurrence=g.recurrence,
        rsvp_closes_at=g.rsvp_closes_at,
        join_url=g.join_url,
        guests=[GuestView(**x) for x in g.guests],
        status=g.phase(now),
        capacity=g.capacity,
        occurrence=start,
        seats_taken=seats.seats_taken,
        waitlist_length=seats.waitlisted,
        created_at=g.created_at,
        recap=RecapView(**g.recap) if g.recap else None,
        my_rsvp=mine,
    )


def question_view(q: Question) -> QuestionView:
    return QuestionView(
        question_id=q.question_id,
        gathering_id=q.gathering_id,
        author_id=q.author_id,
        body=q.body,
        votes=q.votes,
        created_at=q.created_at,
        answer=AnswerView(**q.answer) if q.answer else None,
    )


def giveaway_view(g: Giveaway, viewer: str | None) -> GiveawayView:
    return GiveawayView(
        giveaway_id=g.giveaway_id,
        gathering_id=g.gathering_id,
        prize=g.prize,
        winners=g.winners,
        closes_at=g.closes_at,
        seed_commitment=g.seed_commitment,
        min_level=g.min_level,
        rsvp_required=g.rsvp_required,
        checked_in_required=g.checked_in_required,
        exclude_roles=g.exclude_roles,
        entrant_count=len(g.entrants),
        closed=g.is_closed,
        entrants_hash=g.entrants_hash,
        drawn_winners=g.current_winners() if g.draws else None,
        entered=(member_key(viewer) in g.entrants) if viewer is not None else None,
    )


def proof_view(g: Giveaway) -> Proof:
    p: dict[str, Any] = g.proof()
    return Proof.model_validate(p)
