"""Events → changes (SPEC 5). Pure.

Documents:

* ``days/<YYYY-MM-DD>``: counters ``c.*``.
* ``day_users/<YYYY-MM-DD>|<user>``: a user active or credited that day: ``n`` 1 when
  the user acted that day, ``k`` activity kinds (the five of the champion badge), ``up``
  net up-votes received on posts, ``acc`` accepted answers (net), ``iv`` net votes received by their
  ideas, ``f`` the users who replied to or voted on their content.
* ``threads/<thread>``: author, kind, asked day and time, ``rs`` the replies as
  {a: author, t: time}, ``acc`` the accepted answer, ``esc`` when escalated.
* ``ideas/<idea>``: author, day, ``reached.<status>`` first time each status was reached.
* ``reviews/<post>``: product, rating, deleted.
* ``users/<user>``: ``first`` event time and ``first_day`` (for new contributors).
* ``staff/<user>``: users seen acting as support or staff (for the peer-solved share).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from communitykit.consumer import Received
from schemas import forum as f
from schemas import ideas as i
from schemas import reputation as r

from .changes import (
    DAY_USERS,
    DAYS,
    IDEAS,
    REVIEWS,
    STAFF,
    THREADS,
    USERS,
    Change,
    Ops,
    day_of,
    seq_key,
)
from .gatherings import GatheringChanges
from .notifications import NotificationChanges

#: the five activity kinds of the champion badge (SPEC 4, "champion")
KINDS = ("asked", "answered", "voted", "ideas", "wrote")


#: events about a thread that need its author or kind
THREAD_EVENTS = (
    f.VoteCast,
    f.AnswerAccepted,
    f.AnswerUnaccepted,
    f.QuestionEscalated,
    f.EscalationResolved,
    f.PostDeleted,
)


@dataclass(frozen=True)
class ThreadInfo:
    author: str
    kind: str


def thread_refs(batch: Iterable[Received]) -> set[str]:
    """Threads whose author/kind the batch needs to know (replies, votes, accepts...)."""
    out = set()
    for rec in batch:
        d = rec.event.data
        replied = isinstance(d, f.PostCreated) and d.parent_post_id is not None
        if replied or isinstance(d, THREAD_EVENTS):
            out.add(d.thread_id)
    return out


class Changes(GatheringChanges, NotificationChanges):
    """Collects the changes of a batch. ``threads`` maps the known threads (stored ones;
    the batch's own opening posts are added as they come, in partition order). The
    handlers of gatherings and notifications events are in their own modules (mixins)."""

    def __init__(self, threads: Mapping[str, ThreadInfo]) -> None:
        self.threads = dict(threads)
        self.out: list[Change] = []
        #: where the current event came from (its partition key and offset)
        self._seq = ""
        self._offset = -1

    def _ops(self, coll: str, doc_id: str) -> Ops:
        ops = Ops()
        self.out.append(Change(coll, doc_id, self._seq, self._offset, ops))
        return ops

    def _u(self, day: str, uid: str) -> Ops:
        """The current event's change to a user's document of the day."""
        ops = self._ops(DAY_USERS, f"{day}|{uid}")
        ops.st.update(day=day, user=uid)
        return ops

    def add_all(self, batch: Iterable[Received]) -> list[Change]:
        for rec in sorted(batch, key=lambda x: (x.topic, x.partition, x.offset)):
            self.add(rec)
        return self.out

    def add(self, rec: Received) -> None:
        self._seq, self._offset = seq_key(rec.topic, rec.partition), rec.offset
        env = rec.event
        day = day_of(env.time)
        d: Any = env.data
        dayops = self._ops(DAYS, day)
        if env.actorid:
            # presence, not a count (active users are distinct users): idempotent, so a
            # user already stored as active that day costs no write at all
            self._u(day, env.actorid).mx["n"] = 1
            first = self._ops(USERS, env.actorid)
            first.mn.update(first=env.time, first_day=day)
        handler = getattr(self, f"_on_{type(d).__name__}", None)
        if handler is not None:
            handler(d, env.time, day, dayops, env.actorid)

    # ------------------------------------------------------------------ forum

    def _kind(self, dayops: Ops, day: str, uid: str, kind: str) -> None:
        self._u(day, uid).add["k"] = [kind]

    def _fan(self, dayops: Ops, day: str, author: str, fan: str) -> None:
        if fan != author:
            self._u(day, author).add["f"] = [fan]

    def _on_PostCreated(self, d: f.PostCreated, t: Any, day: str, dayops: Ops, _: Any) -> None:
        dayops.inc["c.posts"] = 1
        if d.by_support:  # the forum says so (optional field): its author is a support user
            self._ops(STAFF, d.author_id).add["roles"] = ["support"]
        if d.parent_post_id is None:  # an opening post starts a thread
            self.threads[d.thread_id] = ThreadInfo(d.author_id, d.kind)
            th = self._ops(THREADS, d.thread_id)
            th.st.update(author=d.author_id, kind=d.kind, day=day, at=t)
        if d.kind == "question":
            dayops.inc["c.questions"] = 1
            self._kind(dayops, day, d.author_id, "asked")
        elif d.kind == "reply":
            dayops.inc["c.replies"] = 1
            self._kind(dayops, day, d.author_id, "answered")
            info = self.threads.get(d.thread_id)
            if info is not None:
                self._fan(dayops, day, info.author, d.author_id)
                if info.kind == "question":
                    self._ops(THREADS, d.thread_id).add["rs"] = [{"a": d.author_id, "t": t}]
        elif d.kind in ("review", "article"):
            self._kind(dayops, day, d.author_id, "wrote")
        if d.kind == "review":
            dayops.inc["c.reviews"] = 1
            if d.product_id and d.rating:
                rv = self._ops(REVIEWS, d.post_id)
                rv.st.update(
                    product=d.product_id, rating=d.rating, author=d.author_id, day=day, at=t
                )

    def _on_PostDeleted(self, d: f.PostDeleted, t: Any, day: str, dayops: Ops, _: Any) -> None:
        if d.kind == "review":  # a deleted review no longer rates its product
            self._ops(REVIEWS, d.post_id).st["deleted"] = True

    def _on_VoteCast(self, d: f.VoteCast, t: Any, day: str, dayops: Ops, _: Any) -> None:
        if d.value != 0:
            dayops.inc["c.votes"] = 1
            self._kind(dayops, day, d.voter_id, "voted")
            self._fan(dayops, day, d.target_author_id, d.voter_id)
        up = max(d.value, 0) - max(d.previous_value, 0)
        if up and d.voter_id != d.target_author_id:
            self._u(day, d.target_author_id).inc["up"] = up

    def _accept(self, d: Any, t: Any, dayops: Ops, day: str, accepted: bool) -> None:
        if d.thread_id in self.threads:
            self._ops(THREADS, d.thread_id).st["acc"] = (
                {"post": d.answer_post_id, "author": d.answer_author_id, "at": t}
                if accepted
                else None
            )
        dayops.inc["c.accepts"] = 1 if accepted else -1
        if d.answer_author_id != d.question_author_id:  # accepting your own answer is no merit
            self._u(day, d.answer_author_id).inc["acc"] = 1 if accepted else -1

    def _on_AnswerAccepted(
        self, d: f.AnswerAccepted, t: Any, day: str, dayops: Ops, _: Any
    ) -> None:
        self._accept(d, t, dayops, day, True)

    def _on_AnswerUnaccepted(
        self, d: f.AnswerUnaccepted, t: Any, day: str, dayops: Ops, _: Any
    ) -> None:
        self._accept(d, t, dayops, day, False)

    def _on_QuestionEscalated(
        self, d: f.QuestionEscalated, t: Any, day: str, dayops: Ops, _: Any
    ) -> None:
        dayops.inc["c.escalations"] = 1
        if d.thread_id in self.threads:
            self._ops(THREADS, d.thread_id).mn["esc"] = d.escalated_at

    def _on_EscalationResolved(
        self, d: f.EscalationResolved, t: Any, day: str, dayops: Ops, _: Any
    ) -> None:
        dayops.inc["c.escalations_resolved"] = 1
        if d.resolution == "answered_by_support":  # only a support user's reply does this
            self._ops(STAFF, d.resolved_by).add["roles"] = ["support"]

    # ------------------------------------------------------------------ ideas

    def _on_IdeaSubmitted(self, d: i.IdeaSubmitted, t: Any, day: str, dayops: Ops, _: Any) -> None:
        dayops.inc["c.ideas_submitted"] = 1
        self._kind(dayops, day, d.author_id, "ideas")
        idea = self._ops(IDEAS, d.idea_id)
        idea.st.update(author=d.author_id, day=day, at=t)
        idea.mn["reached.new"] = t

    def _on_IdeaVoteCast(self, d: i.IdeaVoteCast, t: Any, day: str, dayops: Ops, _: Any) -> None:
        if d.value != 0:
            dayops.inc["c.votes"] = 1
            dayops.inc["c.idea_votes"] = 1
            self._kind(dayops, day, d.voter_id, "ideas")
            self._fan(dayops, day, d.target_author_id, d.voter_id)
        delta = d.value - d.previous_value
        if delta and d.voter_id != d.target_author_id:
            self._u(day, d.target_author_id).inc["iv"] = delta

    def _on_IdeaCommented(self, d: i.IdeaCommented, t: Any, day: str, dayops: Ops, _: Any) -> None:
        dayops.inc["c.idea_comments"] = 1

    def _on_IdeaStatusChanged(
        self, d: i.IdeaStatusChanged, t: Any, day: str, dayops: Ops, _: Any
    ) -> None:
        dayops.inc[f"c.status_{d.to_status}"] = 1
        self._ops(IDEAS, d.idea_id).mn[f"reached.{d.to_status}"] = t
        self._ops(STAFF, d.changed_by).add["roles"] = ["staff"]  # statuses are staff-only

    def _on_IdeasMerged(self, d: i.IdeasMerged, t: Any, day: str, dayops: Ops, actor: Any) -> None:
        self._ops(IDEAS, d.source_idea_id).st["merged_into"] = d.target_idea_id
        if actor:
            self._ops(STAFF, actor).add["roles"] = ["staff"]  # merging is staff-only

    # ------------------------------------------------------------------ reputation

    def _on_ReputationChanged(
        self, d: r.ReputationChanged, t: Any, day: str, dayops: Ops, _: Any
    ) -> None:
        dayops.inc["c.reputation_points"] = d.delta

    def _on_BadgeAwarded(self, d: r.BadgeAwarded, t: Any, day: str, dayops: Ops, _: Any) -> None:
        dayops.inc["c.badges_awarded"] = 1

    def _on_LevelChanged(self, d: r.LevelChanged, t: Any, day: str, dayops: Ops, _: Any) -> None:
        if d.to_level > d.from_level:
            dayops.inc["c.level_ups"] = 1
