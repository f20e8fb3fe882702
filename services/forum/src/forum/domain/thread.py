"""The ``Thread`` aggregate: accepted answer, status, escalation, removal of the question.

Each method checks its rules, changes the object and returns the events it produces; the
repository (adapters/repository.py) saves the changed fields and those events in ONE guarded
single-document update. No I/O here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from communitykit.auth import Principal
from schemas import Envelope, new_event
from schemas.forum import (
    AnswerAccepted,
    AnswerUnaccepted,
    EscalationAcknowledged,
    EscalationReopened,
    EscalationResolved,
    MediaItem,
    PostCreated,
    PostDeleted,
    QuestionEscalated,
)

from . import rules
from .commands import CreateThread
from .errors import ConflictError, InvalidCommandError, NotAllowedError
from .escalation import (
    Escalation,
    Reason,
    Resolution,
    resolution_for_accept,
    resolution_when_ended,
)
from .post import Post

Event = Envelope[Any]

#: the persisted fields of the escalation (flat on the thread document: indexed, filtered)
_ESC_FIELDS = {
    "escalation_state": "state",
    "escalation_reason": "reason",
    "escalated_at": "escalated_at",
    "queued_at": "queued_at",
    "escalation_round": "round",
    "acknowledged_by": "acknowledged_by",
    "acknowledged_at": "acknowledged_at",
    "resolution": "resolution",
    "resolved_by": "resolved_by",
    "resolved_at": "resolved_at",
    "escalation_confirmed": "confirmed",
}


def once_id(*parts: str) -> str:
    """Event id of a fact that can happen at most once (per round): deterministic, so a
    guarded update that records it can match once and consumers dedupe a re-publish by id."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "community/forum/" + "/".join(parts)))


def round_id(thread_id: str, fact: str, round_: int) -> str:
    # round 1 keeps the id it always had (events published before rounds existed)
    return once_id(thread_id, fact) if round_ == 1 else once_id(thread_id, fact, str(round_))


def escalation_fields(e: Escalation | None) -> dict[str, Any]:
    if e is None:
        return {k: None for k in _ESC_FIELDS} | {"escalation_queue": None}
    out = {k: getattr(e, attr) for k, attr in _ESC_FIELDS.items()}
    out["escalation_queue"] = "open" if e.pending else "resolved"
    return out


def escalation_of(doc: dict[str, Any]) -> Escalation | None:
    if not doc.get("escalation_state"):
        return None
    esc_at = doc["escalated_at"]
    return Escalation(
        state=doc["escalation_state"],
        reason=doc.get("escalation_reason") or "unanswered",
        escalated_at=esc_at,
        queued_at=doc.get("queued_at") or esc_at,
        round=int(doc.get("escalation_round") or 1),
        acknowledged_by=doc.get("acknowledged_by"),
        acknowledged_at=doc.get("acknowledged_at"),
        resolution=doc.get("resolution"),
        resolved_by=doc.get("resolved_by"),
        resolved_at=doc.get("resolved_at"),
        confirmed=bool(doc.get("escalation_confirmed")),
    )


@dataclass
class Thread:
    id: str
    kind: str
    author_id: str
    created_at: datetime
    opening_post_id: str
    title: str = ""
    group_id: str | None = None
    product_id: str | None = None
    status: str = "open"
    accepted_post_id: str | None = None
    accepted_author_id: str | None = None
    #: someone other than the asker has a live reply (set by the thread projection's
    #: command: projections/threads.py; the reply itself is one insert of its post)
    has_other_reply: bool = False
    #: a support user replied at some point (the question then holds a support answer)
    support_replied: bool = False
    escalation: Escalation | None = None
    deleted: bool = False
    _events: list[Event] = field(default_factory=list, repr=False)

    # ---- persistence shape (communitykit.repository diffs to_doc before/after) ----

    @staticmethod
    def from_doc(d: dict[str, Any]) -> Thread:
        return Thread(
            id=d["_id"],
            kind=d["kind"],
            author_id=d["author_id"],
            created_at=d["created_at"],
            opening_post_id=d.get("opening_post_id", ""),
            title=d.get("title") or "",
            group_id=d.get("group_id"),
            product_id=d.get("product_id"),
            status=d.get("status", "open"),
            accepted_post_id=d.get("accepted_post_id"),
            accepted_author_id=d.get("accepted_author_id"),
            has_other_reply=bool(d.get("has_other_reply")),
            support_replied=bool(d.get("support_replied")),
            escalation=escalation_of(d),
            deleted=bool(d.get("deleted")),
        )

    def to_doc(self) -> dict[str, Any]:
        """The stored fields: small (no body, no counters, no lists: those are the
        projection's), with one field per lookup of its own (``unanswered_since`` for the
        escalation sweep, ``escalation_queue``/``escalation_state`` for the support queue)."""
        return {
            "kind": self.kind,
            "author_id": self.author_id,
            "created_at": self.created_at,
            "opening_post_id": self.opening_post_id,
            "title": self.title,
            "group_id": self.group_id,
            "product_id": self.product_id,
            "status": self.status,
            "accepted_post_id": self.accepted_post_id,
            "accepted_author_id": self.accepted_author_id,
            "deleted": self.deleted,
            "has_other_reply": self.has_other_reply,
            "support_replied": self.support_replied,
            "unanswered_since": self.unanswered_since,
            **escalation_fields(self.escalation),
        }

    @property
    def unanswered_since(self) -> datetime | None:
        """When the escalation clock started: an open question nobody else answered and
        never escalated (None otherwise); the sweep's indexed range (jobs/escalation.py)."""
        if (
            not self.is_question
            or self.deleted
            or self.has_other_reply
            or self.escalation is not None
            or self.accepted_post_id is not None
        ):
            return None
        return self.created_at

    # ---- rules ----

    @staticmethod
    def open(
        thread_id: str, post_id: str, by: Principal, cmd: CreateThread, at: datetime
    ) -> tuple[Thread, list[Event]]:
        """A new thread and its opening post (the command validated its own cross-field
        rules): ``open``, nothing accepted, never escalated; PostCreated."""
        t = Thread(
            id=thread_id,
            kind=cmd.kind,
            author_id=by.user_id,
            created_at=at,
            opening_post_id=post_id,
            title=cmd.title,
            group_id=cmd.group_id,
            product_id=cmd.product_id,
        )
        t._event(
            PostCreated(
                post_id=post_id,
                thread_id=thread_id,
                parent_post_id=None,
                kind=cmd.kind,
                author_id=by.user_id,
                group_id=cmd.group_id,
                title=cmd.title,
                tags=cmd.tags,
                product_id=cmd.product_id,
                rating=cmd.rating,
                media=[
                    MediaItem(url=str(m.url), media_type=m.media_type, caption=m.caption)
                    for m in cmd.media
                ],
                body_length=len(cmd.body),
                body=cmd.body,
                media_ids=cmd.media_ids,
            ),
            by.user_id,
            at,
        )
        return t, t._take()

    @property
    def is_question(self) -> bool:
        return self.kind == "question"

    def _restatus(self) -> None:
        if self.deleted:
            self.status = "deleted"  # out of every status list and of the escalation scan
            return
        self.status = rules.thread_status(
            has_other_reply=self.has_other_reply,
            accepted=self.accepted_post_id is not None,
            escalation_open=self.escalation is not None and self.escalation.pending,
        )

    def _event(self, data: Any, actor: str | None, at: datetime, eid: str | None = None) -> None:
        self._events.append(new_event(data, subject=self.id, actor_id=actor, time=at, event_id=eid))

    def _take(self) -> list[Event]:
        out, self._events = self._events, []
        return out

    def _end_escalation(self, resolution: Resolution, by: str, actor: str, at: datetime) -> None:
        e = self.escalation
        if e is None or not e.pending:
            return
        self.escalation = e.resolve(resolution, by, at)
        self._event(
            EscalationResolved(thread_id=self.id, resolved_by=by, resolution=resolution),
            actor,
            at,
            round_id(self.id, "escalation-resolved", e.round),
        )

    def _check_asker(self, by: Principal, what: str) -> None:
        if not self.is_question:
            raise ConflictError(f"only questions {what}")
        if by.user_id != self.author_id:
            raise NotAllowedError(f"only the question's author may do this ({what})")

    def accept(self, by: Principal, answer: Post | None, at: datetime) -> list[Event]:
        """The asker accepts a visible reply (AnswerUnaccepted of a previous one first); an
        escalation waiting for support is resolved by the community (same update)."""
        self._check_asker(by, "have an accepted answer")
        if answer is None or answer.thread_id != self.id or answer.is_opening or not answer.visible:
            raise InvalidCommandError(
                "post_id is not a visible reply of this thread", field="post_id"
            )
        if self.accepted_post_id == answer.id:
            return []  # idempotent
        if self.accepted_post_id is not None:
            self._unaccepted(by, at)
        self.accepted_post_id, self.accepted_author_id = answer.id, answer.author_id
        self._event(
            AnswerAccepted(
                thread_id=self.id,
                answer_post_id=answer.id,
                answer_author_id=answer.author_id,
                question_author_id=self.author_id,
            ),
            by.user_id,
            at,
        )
        resolution = resolution_for_accept(answer.author_id, self.author_id)
        self._end_escalation(resolution, answer.author_id, by.user_id, at)
        self._restatus()
        return self._take()

    def _unaccepted(self, by: Principal, at: datetime) -> None:
        assert self.accepted_post_id is not None and self.accepted_author_id is not None
        self._event(
            AnswerUnaccepted(
                thread_id=self.id,
                answer_post_id=self.accepted_post_id,
                answer_author_id=self.accepted_author_id,
                question_author_id=self.author_id,
            ),
            by.user_id,
            at,
        )

    def unaccept(self, by: Principal, at: datetime) -> list[Event]:
        """The question is back in play: ``answered`` if someone else replied, else ``open``
        (unanswered), and the asker may escalate it again."""
        self._check_asker(by, "have an accepted answer")
        if self.accepted_post_id is None:
            return []
        self._unaccepted(by, at)
        self.accepted_post_id = self.accepted_author_id = None
        self._restatus()
        return self._take()

    def _escalated(self, reason: Reason, actor: str | None, at: datetime) -> None:
        self.escalation = Escalation.start(reason, at)
        self._event(
            QuestionEscalated(
                thread_id=self.id,
                question_author_id=self.author_id,
                asked_at=self.created_at,
                escalated_at=at,
                waited_seconds=max(0, int((at - self.created_at).total_seconds())),
                reason=reason,
            ),
            actor,
            at,
            once_id(self.id, "escalated"),
        )
        self._restatus()

    def request_escalation(self, by: Principal, at: datetime) -> list[Event]:
        """POST /threads/{id}/escalate: QuestionEscalated the first time; after a resolved
        escalation (e.g. its accepted answer was withdrawn) the same escalation is reopened
        (EscalationReopened), so a support system sees one ticket per question."""
        self._check_asker(by, "can be escalated")
        if self.accepted_post_id is not None:
            raise ConflictError("a solved question is not escalated")
        e = self.escalation
        if e is None:
            self._escalated("requested", by.user_id, at)
        elif e.pending:
            raise ConflictError("this question is already escalated")
        else:
            self._reopen(by, "escalated again by the asker", at, confirmed_ok=True)
        return self._take()

    def escalate_unanswered(self, at: datetime) -> list[Event]:
        """The background check: an open question nobody else answered, escalated once ever."""
        if not self.is_question or self.status != "open" or self.has_other_reply:
            return []
        if self.escalation is not None or self.deleted:
            return []
        self._escalated("unanswered", None, at)
        return self._take()

    def acknowledge(self, by: Principal, at: datetime) -> list[Event]:
        """Support has seen it and works on it: ``acknowledged``, still in the queue."""
        if not by.has("support", "staff"):
            raise NotAllowedError("only support or staff acknowledge an escalation")
        e = self._escalation()
        if e.state == "acknowledged":
            return []  # idempotent
        self.escalation = e.acknowledge(by.user_id, at)
        self._event(
            EscalationAcknowledged(thread_id=self.id, acknowledged_by=by.user_id),
            by.user_id,
            at,
            round_id(self.id, "escalation-acknowledged", e.round),
        )
        return self._take()

    def confirm(self, by: Principal, at: datetime) -> list[Event]:
        """The asker is satisfied: a resolved escalation is confirmed (final); one still
        waiting for support is ended by the asker (EscalationResolved)."""
        self._check_asker(by, "have an escalation")
        e = self._escalation()
        if e.pending:
            resolution = resolution_when_ended(others_replied=self.has_other_reply)
            self._end_escalation(resolution, by.user_id, by.user_id, at)
            self._restatus()
        if self.escalation is not None and not self.escalation.confirmed:
            self.escalation = self.escalation.confirm()
        return self._take()

    def reopen(self, by: Principal, reason: str, at: datetime) -> list[Event]:
        """The asker says the resolution did not help: back in the queue."""
        self._check_asker(by, "have an escalation")
        self._reopen(by, reason, at, confirmed_ok=False)
        return self._take()

    def _reopen(self, by: Principal, reason: str, at: datetime, *, confirmed_ok: bool) -> None:
        if self.accepted_post_id is not None:
            raise ConflictError("the question has an accepted answer; unaccept it first")
        e = self._escalation().reopen(at, confirmed_ok=confirmed_ok)
        self.escalation = e
        self._event(
            EscalationReopened(thread_id=self.id, reopened_by=by.user_id, reason=reason),
            by.user_id,
            at,
            round_id(self.id, "escalation-reopened", e.round),
        )
        self._restatus()

    def _escalation(self) -> Escalation:
        if self.escalation is None:
            raise ConflictError("this question has not been escalated")
        return self.escalation

    def observe_replies(
        self,
        *,
        others_live: bool,
        support_reply_at: datetime | None,
        support_author_id: str | None,
        deleted_post_ids: frozenset[str],
        at: datetime,
    ) -> list[Event]:
        """What the thread projection saw of its replies (projections/threads.py), as a
        command: whether someone other than the asker has a live reply (``answered``, and
        the escalation sweep skips it); a support user's reply written while an escalation
        waited for support resolves it (``answered_by_support``; the answer stays in the
        community); a deleted accepted answer is no longer accepted.

        Idempotent: flags are set to what was seen, and a support reply resolves only the
        round it was written in (``queued_at`` <= its time), so a redelivered one never
        resolves a later, reopened round."""
        self.has_other_reply = others_live
        if self.accepted_post_id is not None and self.accepted_post_id in deleted_post_ids:
            self.accepted_post_id = self.accepted_author_id = None
        if support_reply_at is not None and support_author_id not in (None, self.author_id):
            assert support_author_id is not None
            self.support_replied = True
            e = self.escalation
            if e is not None and e.pending and e.queued_at <= support_reply_at:
                self._end_escalation(
                    "answered_by_support", support_author_id, support_author_id, at
                )
        self._restatus()
        return self._take()

    def check_removal(self, by: Principal, *, support_answered: bool = False) -> None:
        """The answer stays for the next customer: a question with an accepted answer, a
        support reply or an escalation waiting for support is removed by a moderator only.
        ``support_answered``: a support reply the projection has not told the thread about
        yet (the caller read the posts)."""
        rules.check_author_or_moderator(by.user_id, by.roles, self.author_id)
        if rules.can_moderate(by.roles) or not self.is_question:
            return
        if self.accepted_post_id is not None:
            why = "it has an accepted answer"
        elif self.support_replied or support_answered:
            why = "support answered it"
        elif self.escalation is not None and self.escalation.pending:
            why = "it is escalated to support"
        else:
            return
        raise NotAllowedError(f"only a moderator may remove this question: {why}")

    def remove(
        self, by: Principal, opening: Post, at: datetime, *, support_answered: bool = False
    ) -> list[Event]:
        """Deleting the opening post removes the thread: PostDeleted, and an escalation still
        waiting for support ends as ``closed`` (nobody will answer a removed question)."""
        if self.deleted:
            return []
        self.check_removal(by, support_answered=support_answered)
        self._event(
            PostDeleted(
                post_id=opening.id,
                thread_id=self.id,
                author_id=opening.author_id,
                deleted_by=by.user_id,
                kind=opening.kind,  # type: ignore[arg-type]
            ),
            by.user_id,
            at,
        )
        self._end_escalation("closed", by.user_id, by.user_id, at)
        self.deleted = True
        self._restatus()
        return self._take()
