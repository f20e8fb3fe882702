"""The ``Idea`` aggregate: it guards its own rules and returns the events it produces.

Pure Python: no Mongo, no Kafka, no FastAPI. Every command is a method that checks the rules
against the loaded state, changes it and returns the events it produces; the kit's
``communitykit.repository.Repository`` loads the idea (with only the voters a command concerns),
runs the method and saves what changed in ONE guarded single-document update with the events in
the document's outbox, re-running the method on a fresh load if it lost a race
(``adapters/repository.py``).

Votes live inside the idea document, ``voters: {<voter key>: <cast at>}``, next to the count
``votes``: one atomic update adds (or removes) the voter *and* moves the count, so the count
equals the number of distinct current voters by construction, under any concurrency, on any
number of replicas (real MongoDB applies a single-document update atomically).

Trending: ``recent_votes`` = the standing up-votes cast in the current UTC day and the six
before it (7 days). Each up-vote also increments its cast day's bucket ``vote_days.d<YYYYMMDD>``
and ``recent_votes``; a withdrawal decrements the bucket of the day the vote was cast (and
``recent_votes``) while that bucket is still there; a background job removes buckets that fell
out of the window and subtracts them (``expire_days``). Invariant: ``recent_votes`` = the sum
of the buckets present.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas import Envelope, new_event
from schemas.ideas import (
    IdeaCommented,
    IdeasMerged,
    IdeaStatusChanged,
    IdeaSubmitted,
    IdeaVoteCast,
)

from . import workflow
from .commands import SubmitIdea
from .errors import (
    IdeaMergedError,
    IllegalTransitionError,
    MergeConflictError,
    NotAllowedError,
)

#: the trending window, in UTC days (today and the six before)
TRENDING_DAYS = 7
#: ``oldest_vote_day`` of an idea with no vote-day bucket (sorts after every ``d<date>``)
NO_DAY = "~"
STAFF = "staff"


def voter_key(user_id: str) -> str:
    """A document key for a user id (user ids may contain ``.`` or start with ``$``)."""
    return "u" + user_id.encode().hex()


def voter_of(key: str) -> str:
    return bytes.fromhex(key[1:]).decode()


def day_key(at: datetime) -> str:
    return "d" + at.astimezone(UTC).strftime("%Y%m%d")


def window_start(now: datetime) -> str:
    """The oldest vote-day bucket that still counts for trending at ``now``."""
    return day_key(now - timedelta(days=TRENDING_DAYS - 1))


def to_ms(at: datetime) -> datetime:
    """MongoDB keeps milliseconds: truncate first, so what we compare is what is stored."""
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


def require_staff(roles: frozenset[str], what: str) -> None:
    if STAFF not in roles:
        raise NotAllowedError(f"only staff may {what}")


@dataclass(frozen=True)
class StatusChange:
    from_status: str
    to_status: str
    changed_by: str
    note: str | None
    at: datetime


@dataclass(frozen=True)
class IdeaComment:
    comment_id: str
    idea_id: str
    author_id: str
    body: str
    created_at: datetime


@dataclass(frozen=True)
class MergePlan:
    source_id: str
    target_id: str
    #: source voters who become voters of the target (not already voters, not its author)
    moved: dict[str, datetime]
    #: per vote-day bucket (inside the window) how many moved votes it gains
    day_incs: dict[str, int]
    event: Envelope[Any]

    @property
    def moved_votes(self) -> int:
        return len(self.moved)

    @property
    def recent_inc(self) -> int:
        return sum(self.day_incs.values())


@dataclass
class Idea:
    idea_id: str
    title: str
    description: str
    category: str
    product_area: str
    author_id: str
    created_at: datetime
    status: str = workflow.INITIAL
    votes: int = 0
    recent_votes: int = 0
    merged_into: str | None = None
    #: a merge in progress (the source is frozen): target, attempt id, start, staff member
    merging_into: str | None = None
    merge_attempt: str | None = None
    merge_started_at: datetime | None = None
    merge_by: str | None = None
    #: one record per merge attempt into this idea (applied or aborted)
    merged_from: list[dict[str, Any]] = field(default_factory=list)
    status_history: list[StatusChange] = field(default_factory=list)
    #: voter key → cast time; only the voters the current command loaded
    voters: dict[str, datetime] = field(default_factory=dict)
    vote_days: dict[str, int] = field(default_factory=dict)
    oldest_vote_day: str = NO_DAY

    # ------------------------------------------------------------------ submit
    @classmethod
    def submit(
        cls, cmd: SubmitIdea, author_id: str, at: datetime, idea_id: str | None = None
    ) -> tuple[Idea, list[Envelope[Any]]]:
        """A customer proposes an idea → ``IdeaSubmitted`` (with the description, for search)."""
        idea = cls(
            idea_id=idea_id or uuid.uuid4().hex,
            title=cmd.title,
            description=cmd.description,
            category=cmd.category,
            product_area=cmd.product_area,
            author_id=author_id,
            created_at=to_ms(at),
        )
        event = new_event(
            IdeaSubmitted(
                idea_id=idea.idea_id,
                author_id=author_id,
                title=idea.title,
                category=idea.category,
                product_area=idea.product_area,
                description=idea.description,
            ),
            subject=idea.idea_id,
            actor_id=author_id,
            time=idea.created_at,
        )
        return idea, [event]

    # ------------------------------------------------------------------ votes
    def _frozen(self) -> None:
        if self.merged_into is not None:
            raise IdeaMergedError(
                f"idea {self.idea_id!r} was merged into {self.merged_into!r}; vote there",
                merged_into=self.merged_into,
            )
        if self.merging_into is not None:
            raise IdeaMergedError(
                f"idea {self.idea_id!r} is being merged into {self.merging_into!r}",
                merged_into=self.merging_into,
            )

    def vote(self, voter_id: str, value: int, at: datetime) -> list[Envelope[Any]]:
        """Set ``voter_id``'s vote to ``value`` (1, or 0 to withdraw) → ``VoteCast``; no event
        when it is unchanged (PUT is idempotent). Needs the voter's ``voters`` entry loaded.

        Never on your own idea (403); never on a merged idea (409). An up-vote counts in its
        cast day's trending bucket; a withdrawal takes it back from that bucket while the
        bucket is still there (an expired day was already subtracted)."""
        if voter_id == self.author_id:
            raise NotAllowedError("you cannot vote on your own idea")
        self._frozen()
        key = voter_key(voter_id)
        cast = self.voters.get(key)
        previous = 1 if cast is not None else 0
        if previous == value:
            return []
        if value == 1:
            cast_at = to_ms(at)
            day = day_key(cast_at)
            self.voters[key] = cast_at
            self.votes += 1
            self.vote_days[day] = self.vote_days.get(day, 0) + 1
            self.recent_votes += 1
            self.oldest_vote_day = min(self.oldest_vote_day, day)
        else:
            assert cast is not None
            day = day_key(cast)
            del self.voters[key]
            self.votes -= 1
            if day in self.vote_days:
                self.vote_days[day] -= 1
                self.recent_votes -= 1
        event = new_event(
            IdeaVoteCast(
                target_id=self.idea_id,
                target_author_id=self.author_id,
                voter_id=voter_id,
                value=value,  # type: ignore[arg-type]
                previous_value=previous,  # type: ignore[arg-type]
            ),
            subject=self.idea_id,
            actor_id=voter_id,
            time=at,
        )
        return [event]

    # ------------------------------------------------------------------ status
    def change_status(
        self, to_status: str, by: str, note: str | None, at: datetime
    ) -> list[Envelope[Any]]:
        """Move along the workflow (``domain/workflow.py``) → ``IdeaStatusChanged``.

        The caller has checked the staff role. An illegal move is a 409 naming both states."""
        self._frozen()
        if not workflow.allowed(self.status, to_status):
            allowed = sorted(workflow.TRANSITIONS.get(self.status, ()))
            raise IllegalTransitionError(
                f"an idea cannot move from {self.status!r} to {to_status!r}"
                + (
                    f" (allowed: {', '.join(allowed)})"
                    if allowed
                    else f" ({self.status!r} is final)"
                ),
                field="status",
                from_status=self.status,
                to_status=to_status,
                allowed=allowed,
            )
        change = StatusChange(self.status, to_status, by, note or None, to_ms(at))
        event = new_event(
            IdeaStatusChanged(
                idea_id=self.idea_id,
                author_id=self.author_id,
                from_status=self.status,  # type: ignore[arg-type]
                to_status=to_status,  # type: ignore[arg-type]
                changed_by=by,
                note=change.note,
            ),
            subject=self.idea_id,
            actor_id=by,
            time=change.at,
        )
        self.status = to_status
        self.status_history.append(change)
        return [event]

    # ------------------------------------------------------------------ comments
    def comment(
        self, author_id: str, body: str, at: datetime, comment_id: str | None = None
    ) -> tuple[IdeaComment, list[Envelope[Any]]]:
        """Anyone signed in comments on a live idea → ``IdeaCommented``."""
        self._frozen()
        c = IdeaComment(comment_id or uuid.uuid4().hex, self.idea_id, author_id, body, to_ms(at))
        event = new_event(
            IdeaCommented(idea_id=self.idea_id, comment_id=c.comment_id, author_id=author_id),
            subject=self.idea_id,
            actor_id=author_id,
            time=c.created_at,
        )
        return c, [event]

    # ------------------------------------------------------------------ merges
    # A merge changes two ideas, so it is three single-document commands, each idempotent
    # (handlers.merge_ideas): begin_merge on the source, absorb on the target (the commit
    # point), then finish_merge or release_merge on the source.
    def merge_record(self, attempt: str) -> dict[str, Any] | None:
        """This idea's record of a merge attempt into it (applied or aborted), if any."""
        return next((m for m in self.merged_from if m.get("attempt") == attempt), None)

    def begin_merge(self, target: Idea, attempt: str, by: str, at: datetime) -> list[Envelope[Any]]:
        """Step 1, on the source: freeze it (votes are refused from now on, so its voters
        cannot change under the merge) under a new attempt id. Merging again into the target
        it is already being merged into keeps the attempt in progress."""
        check_merge(self, target)
        if self.merging_into is None:
            self.merging_into = target.idea_id
            self.merge_attempt = attempt
            self.merge_started_at = to_ms(at)
            self.merge_by = by
        return []

    def absorb(self, source: Idea, attempt: str, by: str, at: datetime) -> list[Envelope[Any]]:
        """Step 2, on the target, the commit point: take the source's votes (all voters of
        both loaded) with a record of the attempt → ``IdeasMerged``; or, if this idea cannot
        take the merge (it is merged or being merged itself), record the attempt as aborted.
        Once the attempt has a record, nothing more happens (idempotent)."""
        if self.merge_record(attempt) is not None:
            return []
        try:
            plan = plan_merge(source, self, by, at)
        except (MergeConflictError, IdeaMergedError):
            self.merged_from.append(
                {"idea_id": source.idea_id, "attempt": attempt, "moved_votes": 0, "aborted": True}
            )
            return []
        self.voters.update(plan.moved)
        self.votes += plan.moved_votes
        self.recent_votes += plan.recent_inc
        for day, n in plan.day_incs.items():
            self.vote_days[day] = self.vote_days.get(day, 0) + n
        self.oldest_vote_day = min([self.oldest_vote_day, *plan.day_incs])
        self.merged_from.append(
            {
                "idea_id": source.idea_id,
                "attempt": attempt,
                "moved_votes": plan.moved_votes,
                "by": by,
                "at": to_ms(at),
                "aborted": False,
            }
        )
        return [plan.event]

    def finish_merge(self, target_id: str, attempt: str) -> list[Envelope[Any]]:
        """Step 3 after an applied attempt, on the source (all voters loaded): it becomes a
        pointer; its votes now live on the target. Idempotent."""
        if self.merge_attempt != attempt or self.merging_into != target_id:
            return []  # already settled (or another attempt): nothing to do
        self.merged_into, self.merging_into, self.merge_started_at = target_id, None, None
        self.voters, self.vote_days = {}, {}
        self.votes = self.recent_votes = 0
        self.oldest_vote_day = NO_DAY
        return []

    def release_merge(self, attempt: str) -> list[Envelope[Any]]:
        """Step 3 after an aborted attempt, on the source: votable again, unchanged."""
        if self.merge_attempt == attempt and self.merged_into is None:
            self.merging_into = self.merge_attempt = self.merge_started_at = None
        return []

    # ------------------------------------------------------------------ trending
    def expire_days(self, now: datetime) -> list[Envelope[Any]]:
        """Drop the vote-day buckets that left the trending window and subtract them from
        ``recent_votes`` (the background job; no event: trending is not a fact)."""
        expired = expired_days(self.vote_days, now)
        for day, n in expired.items():
            del self.vote_days[day]
            self.recent_votes -= n
        self.oldest_vote_day = min(self.vote_days, default=NO_DAY)
        return []


def check_merge(source: Idea, target: Idea) -> None:
    """The 409s of a merge: into itself, into a merged idea, or of a merged idea."""
    if source.idea_id == target.idea_id:
        raise MergeConflictError("an idea cannot be merged into itself", field="into_idea_id")
    if source.merged_into is not None:
        raise IdeaMergedError(
            f"idea {source.idea_id!r} is already merged into {source.merged_into!r}",
            merged_into=source.merged_into,
        )
    if source.merging_into not in (None, target.idea_id):
        raise IdeaMergedError(
            f"idea {source.idea_id!r} is being merged into {source.merging_into!r}",
            merged_into=source.merging_into,
        )
    if target.merged_into is not None or target.merging_into is not None:
        into = target.merged_into or target.merging_into
        raise MergeConflictError(
            f"cannot merge into {target.idea_id!r}: it is merged into {into!r}",
            field="into_idea_id",
            merged_into=into,
        )


def plan_merge(source: Idea, target: Idea, by: str, at: datetime) -> MergePlan:
    """Votes of ``source`` (all voters loaded) that move to ``target`` (all voters loaded).

    A voter of both counts once; the target's author cannot vote on their own idea, so their
    vote on the source does not move. ``IdeasMerged`` gets a deterministic id: a resumed
    merge that records it again is still one event for consumers (they dedupe by id)."""
    check_merge(source, target)
    moved = {
        k: t
        for k, t in source.voters.items()
        if k not in target.voters and k != voter_key(target.author_id)
    }
    start = window_start(at)
    day_incs: dict[str, int] = {}
    for t in moved.values():
        d = day_key(t)
        if d >= start:
            day_incs[d] = day_incs.get(d, 0) + 1
    event = new_event(
        IdeasMerged(
            source_idea_id=source.idea_id,
            target_idea_id=target.idea_id,
            moved_votes=len(moved),
            source_author_id=source.author_id,
            target_author_id=target.author_id,
        ),
        subject=source.idea_id,
        actor_id=by,
        time=at,
        event_id=merge_event_id(source.idea_id, target.idea_id),
    )
    return MergePlan(source.idea_id, target.idea_id, moved, day_incs, event)


def merge_event_id(source_id: str, target_id: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"community/ideas/merge/{source_id}/{target_id}"))


def expired_days(vote_days: dict[str, int], now: datetime) -> dict[str, int]:
    """The buckets that fell out of the trending window at ``now``."""
    start = window_start(now)
    return {d: n for d, n in vote_days.items() if d < start}
