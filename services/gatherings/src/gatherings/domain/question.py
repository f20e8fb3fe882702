"""Questions for the special guest: one document per question (its votes and its answer)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from communitykit.auth import Principal
from schemas import Envelope, new_event
from schemas.gatherings import GuestQuestionAnswered, GuestQuestionAsked

from .errors import ConflictError, GatheringClosedError, NotAllowedError
from .gathering import Gathering, member_key

Event = Envelope[Any]


@dataclass
class Question:
    question_id: str
    gathering_id: str
    author_id: str
    body: str
    created_at: datetime
    votes: int = 0
    #: member key → user id of everyone whose vote stands
    voters: dict[str, str] = field(default_factory=dict)
    answer: dict[str, Any] | None = None

    @classmethod
    def ask(
        cls, gathering: Gathering, author: str, body: str, now: datetime, question_id: str
    ) -> tuple[Question, list[Event]]:
        """POST /gatherings/{id}/questions, before or during the gathering →
        GuestQuestionAsked."""
        if gathering.status == "cancelled":
            raise GatheringClosedError("the gathering is cancelled")
        if gathering.phase(now) == "past":
            raise GatheringClosedError("the gathering is over; questions are closed")
        q = cls(question_id, gathering.gathering_id, author, body, now)
        return q, [
            new_event(
                GuestQuestionAsked(
                    gathering_id=q.gathering_id,
                    question_id=q.question_id,
                    author_id=author,
                    body=body,
                ),
                subject=q.gathering_id,
                actor_id=author,
                time=now,
            )
        ]

    def vote(self, user_id: str, value: int) -> list[Event]:
        """PUT .../questions/{qid}/vote: +1 or 0 (withdraw); the count moves with ``voters``
        in the same write (no event: votes only order the list)."""
        if user_id == self.author_id:
            raise NotAllowedError("you cannot vote for your own question")
        key = member_key(user_id)
        if value == 1 and key not in self.voters:
            self.voters[key] = user_id
            self.votes += 1
        elif value == 0 and key in self.voters:
            del self.voters[key]
            self.votes -= 1
        return []

    def answer_by(
        self, gathering: Gathering, by: Principal, body: str, now: datetime
    ) -> list[Event]:
        """POST .../questions/{qid}/answer (a guest or the host) → GuestQuestionAnswered;
        a guest's answer is marked as the guest's."""
        by_guest = gathering.is_guest(by.user_id)
        if not by_guest and by.user_id != gathering.host_id:
            raise NotAllowedError("only the gathering's guests or its host answer questions")
        if self.answer is not None:
            raise ConflictError("this question is answered already")
        self.answer = {"body": body, "by": by.user_id, "by_guest": by_guest, "at": now}
        return [
            new_event(
                GuestQuestionAnswered(
                    gathering_id=self.gathering_id,
                    question_id=self.question_id,
                    question_author_id=self.author_id,
                    answered_by=by.user_id,
                    by_guest=by_guest,
                ),
                subject=self.gathering_id,
                actor_id=by.user_id,
                time=now,
            )
        ]
