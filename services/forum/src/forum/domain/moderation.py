"""Moderation of one post: flags, the review queue, hiding, restoring, the author's notice.

Pure rules (no I/O): each method checks who may do it and returns the post's new moderation
state with the events it produces. handlers/moderation.py loads the state from the post
document and saves the new one in ONE version-guarded update with the events in the post's
outbox.

Lifecycle of a post's flags::

    no open flags ──flag──▶ open flags (in GET /flags, oldest first)
        ▲                     │  a flag from level ≥ 3, or the 3rd open flag  → hidden
        │                     │  (PostHidden, the author gets a notice)
        │                     ├─ review "agree"    → hidden if not yet (PostHidden);
        │                     │                      flags closed as upheld
        └─────────────────────┴─ review "disagree" → FlagsDismissed; a post the flags
                                                     hid is restored (PostRestored)

    hidden ──restore (moderator)──▶ visible (PostRestored; open flags dismissed with
                                    FlagsDismissed, so they cannot re-hide it at once)

A user flags a post at most once, ever (dismissed flags included). Hides and restores can
repeat; each carries its generation in its event id (deterministic: at most once each).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import StringConstraints

from schemas import Envelope, new_event
from schemas.forum import FlagsDismissed, PostFlagged, PostHidden, PostRestored

from . import rules
from .commands import Command
from .errors import ConflictError, NotAllowedError

Events = list[Envelope[Any]]

#: ``hidden_by`` of a post the flag rule hid (rather than a moderator)
COMMUNITY = "community"
MAX_REASON = 500

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class ReviewFlags(Command):
    """POST /flags/{post_id}/review: agree (hide) or disagree (dismiss the flags)."""

    decision: Literal["agree", "disagree"]
    #: shown to the author when the post is hidden; defaults to the flags' reasons
    reason: Reason | None = None


@dataclass(frozen=True)
class Flag:
    user_id: str
    reason: str
    at: datetime | None


@dataclass(frozen=True)
class Notice:
    """What the author is told about their post: ``hidden`` (and why) or ``restored``."""

    kind: Literal["hidden", "restored"]
    reason: str
    at: datetime


@dataclass(frozen=True)
class PostModeration:
    post_id: str
    thread_id: str
    author_id: str
    version: int
    hidden: bool = False
    hidden_at: datetime | None = None
    hidden_reason: str | None = None
    hidden_by: str | None = None
    hide_count: int = 0
    restore_count: int = 0
    #: everyone who ever flagged this post (a user flags a post at most once)
    flaggers: tuple[str, ...] = ()
    open_flags: tuple[Flag, ...] = ()
    flagged_at: datetime | None = None
    notice: Notice | None = field(default=None)

    # ------------------------------------------------------------------ derived
    @property
    def in_queue(self) -> bool:
        return bool(self.open_flags)

    def flag_reasons(self) -> str:
        reasons = list(dict.fromkeys(f.reason for f in self.open_flags if f.reason))
        return ("; ".join(reasons) or "flagged by the community")[:MAX_REASON]

    # ------------------------------------------------------------------ events
    def _hidden_event(self, reason: str, at: datetime, actor: str | None) -> Envelope[Any]:
        # the first hide keeps the id the forum always used for it
        parts = [self.post_id, "hidden"] + ([str(self.hide_count)] if self.hide_count else [])
        return new_event(
            PostHidden(
                post_id=self.post_id,
                thread_id=self.thread_id,
                author_id=self.author_id,
                reason=reason,
            ),
            subject=self.thread_id,
            actor_id=actor,
            time=at,
            event_id=once_id(*parts),
        )

    def _restored_event(self, by: str, at: datetime) -> Envelope[Any]:
        return new_event(
            PostRestored(
                post_id=self.post_id,
                thread_id=self.thread_id,
                author_id=self.author_id,
                restored_by=by,
            ),
            subject=self.thread_id,
            actor_id=by,
            time=at,
            event_id=once_id(self.post_id, "restored", str(self.restore_count)),
        )

    def _dismissed_event(self, by: str, at: datetime) -> Envelope[Any]:
        return new_event(
            FlagsDismissed(
                post_id=self.post_id,
                thread_id=self.thread_id,
                dismissed_by=by,
                flag_count=len(self.open_flags),
            ),
            subject=self.thread_id,
            actor_id=by,
            time=at,
        )

    def _hide(self, reason: str, by: str, at: datetime) -> PostModeration:
        return replace(
            self,
            hidden=True,
            hidden_at=at,
            hidden_reason=reason,
            hidden_by=by,
            hide_count=self.hide_count + 1,
            notice=Notice("hidden", reason, at),
        )

    def _restore(self, at: datetime) -> PostModeration:
        return replace(
            self,
            hidden=False,
            hidden_at=None,
            hidden_reason=None,
            hidden_by=None,
            restore_count=self.restore_count + 1,
            notice=Notice("restored", "a moderator restored your post", at),
        )

    def _closed(self) -> PostModeration:
        return replace(self, open_flags=(), flagged_at=None)

    # ------------------------------------------------------------------ commands
    def flag(
        self, flagger_id: str, level: int, reason: str, at: datetime
    ) -> tuple[PostModeration, Events]:
        """A member (level ≥ 2) flags the post → ``PostFlagged``; the flag rule of SPEC 4
        (one flag from level ≥ 3, or the third open flag) also hides it → ``PostHidden``."""
        rules.check_flag(
            flagger_id=flagger_id, author_id=self.author_id, level=level, flaggers=self.flaggers
        )
        outcome = rules.flag_outcome(
            level=level, flags_before=len(self.open_flags), already_hidden=self.hidden
        )
        new = replace(
            self,
            flaggers=(*self.flaggers, flagger_id),
            open_flags=(*self.open_flags, Flag(flagger_id, reason, at)),
            flagged_at=self.flagged_at or at,
        )
        events: Events = [
            new_event(
                PostFlagged(
                    post_id=self.post_id,
                    thread_id=self.thread_id,
                    flagger_id=flagger_id,
                    reason=reason,
                ),
                subject=self.thread_id,
                actor_id=flagger_id,
                time=at,
            )
        ]
        if outcome.hides:
            reason_shown = f"flagged: {new.flag_reasons()}"[:MAX_REASON]
            events.append(new._hidden_event(reason_shown, at, None))
            new = new._hide(reason_shown, COMMUNITY, at)
        return new, events

    def review(
        self,
        moderator_id: str,
        roles: Iterable[str],
        decision: Literal["agree", "disagree"],
        reason: str | None,
        at: datetime,
    ) -> tuple[PostModeration, Events]:
        """A moderator decides on the open flags. ``agree`` → hidden (``PostHidden`` unless
        it already is), flags closed as upheld; ``disagree`` → ``FlagsDismissed``, and a post
        that the flags hid is restored (``PostRestored``)."""
        check_moderator(roles, "review flags")
        if not self.open_flags:
            raise ConflictError("this post has no open flags to review", field="post_id")
        events: Events = []
        if decision == "agree":
            new = self._closed()
            if not self.hidden:
                shown = reason or f"flagged: {self.flag_reasons()}"[:MAX_REASON]
                events.append(self._hidden_event(shown, at, moderator_id))
                new = new._hide(shown, moderator_id, at)
            return new, events
        events.append(self._dismissed_event(moderator_id, at))
        new = self._closed()
        if self.hidden and self.hidden_by == COMMUNITY:
            events.append(self._restored_event(moderator_id, at))
            new = new._restore(at)
        return new, events

    def restore(
        self, moderator_id: str, roles: Iterable[str], at: datetime
    ) -> tuple[PostModeration, Events]:
        """A moderator makes a hidden post visible again → ``PostRestored`` (and
        ``FlagsDismissed`` for flags still open). A visible post: nothing to do."""
        check_moderator(roles, "restore posts")
        if not self.hidden:
            return self, []
        events: Events = []
        new = self
        if self.open_flags:
            events.append(self._dismissed_event(moderator_id, at))
            new = new._closed()
        events.append(self._restored_event(moderator_id, at))
        return new._restore(at), events


def check_moderator(roles: Iterable[str], what: str) -> None:
    if not rules.can_moderate(roles):
        raise NotAllowedError(f"only moderators may {what}")


def once_id(*parts: str) -> str:
    """Deterministic event id of a fact that happens at most once (same scheme as
    handlers/_common.once_id, so the first hide keeps its historical id)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "community/forum/" + "/".join(parts)))
