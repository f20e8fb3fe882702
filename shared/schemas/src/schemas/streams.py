"""Realistic event streams of a community, for unit tests, the chaos oracle and benchmarks.

One generator instead of one per test suite: :func:`community_stream` plays a community whose
members act with a heavy-tailed (Zipf-like) activity, so a few champions ask, answer and vote a
lot and a long tail does little; threads have a heavy-tailed popularity too (hot threads draw
most replies and votes). It emits real contract events built with :func:`schemas.new_event`:

* forum: groups, joins, questions, discussions, articles, media posts and product reviews,
  replies, edits, up/down votes (changed and withdrawn, ``previous_value`` consistent with the
  voter's earlier vote), accepts, unaccepts and changed accepts by the asker, flags, hides,
  restores, deletions, escalations of unanswered questions and their resolution;
* ideas: submissions, comments, votes (cast and withdrawn), status changes along the ideas
  service's workflow, merges.

Everything follows from ``seed`` (event ids included), so a failing property test names its
stream by its seed. Times move forward from ``start`` with random gaps; :func:`disorder` then
shuffles a stream and redelivers some of its events, as at-least-once delivery across topics
does (SPEC 6).
"""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from . import forum, gatherings, ideas, media, topics
from .envelope import Envelope, EventData, new_event

#: the ideas service's workflow (services/ideas/src/ideas/domain/workflow.py), copied here so
#: the contract package imports no service; the streams only need plausible moves
IDEA_MOVES: dict[str, tuple[str, ...]] = {
    "new": ("under_review", "planned", "declined"),
    "under_review": ("planned", "declined"),
    "planned": ("in_progress", "under_review", "declined"),
    "in_progress": ("completed", "planned", "declined"),
    "completed": (),
    "declined": ("under_review",),
}

#: what a member does, with its weight (votes dominate, as on every forum)
ACTIONS: tuple[tuple[str, float], ...] = (
    ("vote", 0.46),
    ("reply", 0.15),
    ("thread", 0.08),
    ("idea_vote", 0.09),
    ("accept", 0.04),
    ("idea", 0.02),
    ("idea_comment", 0.03),
    ("idea_status", 0.015),
    ("edit", 0.02),
    ("flag", 0.01),
    ("moderate", 0.01),
    ("group", 0.02),
    ("escalate", 0.01),
    ("merge", 0.002),
)
#: threads kept hot at once (they draw most of the replies and votes)
HOT_THREADS = 12
THREAD_KINDS = (("question", 0.55), ("discussion", 0.2), ("article", 0.1), ("review", 0.1))
WORDS = [
    "router",
    "reset",
    "blinks",
    "orange",
    "firmware",
    "update",
    "wifi",
    "password",
    "login",
    "account",
    "billing",
    "invoice",
    "export",
    "report",
    "dashboard",
    "slow",
    "crash",
    "error",
    "install",
    "license",
    "sync",
    "mobile",
    "app",
    "dark",
    "mode",
    "battery",
    "printer",
    "driver",
    "backup",
    "restore",
    "cloud",
    "storage",
    "share",
    "link",
    "permission",
    "admin",
]


@dataclass
class _Thread:
    thread_id: str
    post_id: str
    kind: str
    author: str
    group_id: str | None
    replies: list[tuple[str, str]] = field(default_factory=list)  # (post id, author)
    accepted: tuple[str, str] | None = None  # (post id, author)
    escalated: bool = False
    heat: float = 1.0


@dataclass
class _Idea:
    idea_id: str
    author: str
    status: str = "new"
    merged: bool = False


@dataclass
class Stream:
    """A generated stream: the events in the order they happened, and who took part."""

    events: list[Envelope[Any]]
    members: list[str]

    def by_topic(self) -> dict[str, list[Envelope[Any]]]:
        out: dict[str, list[Envelope[Any]]] = {}
        for e in self.events:
            out.setdefault(topic_of(e), []).append(e)
        return out


def topic_of(env: Envelope[Any]) -> str:
    """The topic an event is published on (its producer's, SPEC 2.2)."""
    for producer, topic in (
        ("/ideas", topics.IDEAS_EVENTS),
        ("/gatherings", topics.GATHERINGS_EVENTS),
        ("/media", topics.MEDIA_EVENTS),
    ):
        if env.source.endswith(producer):
            return topic
    return topics.FORUM_EVENTS


class _Community:
    def __init__(self, rng: random.Random, members: int, start: datetime, mean_gap: float):
        self.rng = rng
        self.members = [f"member-{n:05d}" for n in range(members)]
        # heavy-tailed activity: weight 1/rank^1.1 (a few champions, a long tail)
        self.cum_weights = list(itertools.accumulate(1.0 / (n + 1) ** 1.1 for n in range(members)))
        self.clock = start
        self.mean_gap = mean_gap
        self.events: list[Envelope[Any]] = []
        self.threads: list[_Thread] = []
        self.hot: list[_Thread] = []
        self.open_questions: list[_Thread] = []
        self.ideas: list[_Idea] = []
        self.groups: list[str] = []
        self.posts: dict[str, tuple[_Thread, str, str]] = {}  # post → (thread, kind, author)
        self.hidden: set[str] = set()
        self.deleted: set[str] = set()
        self.votes: dict[tuple[str, str], int] = {}  # (voter, target) → value
        self.idea_upvotes: dict[str, int] = {}  # idea → standing up-votes
        self.gatherings: list[tuple[str, str]] = []  # (gathering, host), newest last
        self.media: list[tuple[str, str]] = []  # (media item, author) in galleries
        self.hidden_media: set[str] = set()
        self.seq = 0

    # -- plumbing -----------------------------------------------------------------------------

    def member(self) -> str:
        return self.rng.choices(self.members, cum_weights=self.cum_weights)[0]

    def other(self, than: str) -> str:
        for _ in range(8):
            m = self.member()
            if m != than:
                return m
        return next(m for m in self.members if m != than)

    def new_id(self, prefix: str) -> str:
        self.seq += 1
        return f"{prefix}-{self.seq:07d}"

    def emit(self, data: EventData, subject: str, actor: str | None) -> None:
        gap = timedelta(seconds=self.rng.expovariate(1.0 / self.mean_gap))
        # whole milliseconds: what the wire keeps (SPEC 2.1), so a parsed copy is equal
        self.clock += gap - timedelta(microseconds=(self.clock + gap).microsecond % 1000)
        eid = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        self.events.append(
            new_event(data, subject=subject, actor_id=actor, time=self.clock, event_id=eid)
        )

    def text(self, words: int) -> str:
        return " ".join(self.rng.choice(WORDS) for _ in range(words))

    def hot_thread(self, alive_only: bool = True) -> _Thread | None:
        """A thread to act in: mostly one of the few hot threads (weighted by heat), else any
        recent one, so hot threads draw most replies and votes."""
        if not self.threads:
            return None
        if self.hot and self.rng.random() < 0.6:
            picked = self.rng.choices(self.hot, [t.heat for t in self.hot])[0]
        else:
            picked = self.threads[-1 - int(self.rng.expovariate(1 / 60)) % len(self.threads)]
        if alive_only and picked.post_id in self.deleted:
            return None
        return picked

    def heat_up(self, thread: _Thread) -> None:
        """Keep the hottest threads at hand (a new hot thread pushes out the coolest)."""
        if thread in self.hot:
            return
        if len(self.hot) < HOT_THREADS:
            self.hot.append(thread)
            return
        coolest = min(self.hot, key=lambda t: t.heat)
        if thread.heat > coolest.heat:
            self.hot[self.hot.index(coolest)] = thread

    # -- actions -------------------------------------------------------------------------------

    def act(self, action: str) -> None:
        getattr(self, f"_{action}")()

    def _group(self) -> None:
        who = self.member()
        if not self.groups or self.rng.random() < 0.1:
            gid = self.new_id("group")
            self.groups.append(gid)
            name = self.text(2).title()
            self.emit(forum.GroupCreated(group_id=gid, name=name, owner_id=who), gid, who)
            return
        gid = self.rng.choice(self.groups)
        self.emit(forum.GroupJoined(group_id=gid, user_id=who), gid, who)

    def _thread(self) -> None:
        who = self.member()
        kind = self.rng.choices([k for k, _ in THREAD_KINDS], [w for _, w in THREAD_KINDS])[0]
        if self.rng.random() < 0.04:
            kind = "media"
        tid, pid = self.new_id("thread"), self.new_id("post")
        group = self.rng.choice(self.groups) if self.groups and self.rng.random() < 0.3 else None
        review = kind == "review"
        body = self.text(self.rng.randint(8, 40))
        self.emit(
            forum.PostCreated(
                post_id=pid,
                thread_id=tid,
                kind=kind,  # type: ignore[arg-type]
                author_id=who,
                group_id=group,
                title=self.text(self.rng.randint(3, 8)).capitalize(),
                tags=self.rng.sample(WORDS, self.rng.randint(0, 3)),
                product_id=f"product-{self.rng.randint(1, 20)}" if review else None,
                rating=self.rng.choices([1, 2, 3, 4, 5], [1, 1, 2, 4, 5])[0] if review else None,
                media=[forum.MediaItem(url=f"https://cdn.example/{pid}.jpg", media_type="image")]
                if kind == "media"
                else [],
                body_length=len(body),
                body=body,
            ),
            tid,
            who,
        )
        for hot in self.hot:  # older threads cool down as new ones arrive
            hot.heat *= 0.97
        thread = _Thread(tid, pid, kind, who, group, heat=self.rng.paretovariate(1.2))
        self.threads.append(thread)
        self.heat_up(thread)
        self.posts[pid] = (thread, kind, who)
        if kind == "question":
            self.open_questions.append(thread)

    def _reply(self) -> None:
        thread = self.hot_thread()
        if thread is None:
            return self._thread()
        who = self.member()
        pid = self.new_id("post")
        body = self.text(self.rng.randint(5, 30))
        self.emit(
            forum.PostCreated(
                post_id=pid,
                thread_id=thread.thread_id,
                parent_post_id=thread.post_id,
                kind="reply",
                author_id=who,
                group_id=thread.group_id,
                body_length=len(body),
                body=body,
            ),
            thread.thread_id,
            who,
        )
        thread.replies.append((pid, who))
        self.posts[pid] = (thread, "reply", who)

    def _vote(self) -> None:
        thread = self.hot_thread()
        if thread is None:
            return self._thread()
        targets = [(thread.post_id, thread.author), *thread.replies]
        post, author = self.rng.choice(targets)
        if post in self.deleted:
            return None
        voter = self.other(author)
        previous = self.votes.get((voter, post), 0)
        if previous and self.rng.random() < 0.5:
            value = 0 if self.rng.random() < 0.7 else -previous  # withdrawn or changed
        else:
            value = 1 if self.rng.random() < 0.85 else -1
        if value == previous:
            return None
        self.votes[(voter, post)] = value
        kind = self.posts[post][1]
        self.emit(
            forum.VoteCast(
                target_id=post,
                thread_id=thread.thread_id,
                target_kind=kind,  # type: ignore[arg-type]
                target_author_id=author,
                voter_id=voter,
                value=value,  # type: ignore[arg-type]
                previous_value=previous,  # type: ignore[arg-type]
            ),
            thread.thread_id,
            voter,
        )
        return None

    def _accept(self) -> None:
        answered = [t for t in self.open_questions[-300:] if t.replies]
        if not answered:
            return None
        thread = self.rng.choice(answered)
        data = {"thread_id": thread.thread_id, "question_author_id": thread.author}
        if thread.accepted and self.rng.random() < 0.5:  # unaccept (and maybe accept another)
            post, author = thread.accepted
            self.emit(
                forum.AnswerUnaccepted(answer_post_id=post, answer_author_id=author, **data),
                thread.thread_id,
                thread.author,
            )
            thread.accepted = None
            if self.rng.random() < 0.5:
                return None
        post, author = self.rng.choice(thread.replies)
        if post in self.deleted or thread.accepted == (post, author):
            return None
        if thread.accepted:  # the forum unaccepts the old answer before accepting the new
            old_post, old_author = thread.accepted
            self.emit(
                forum.AnswerUnaccepted(
                    answer_post_id=old_post, answer_author_id=old_author, **data
                ),
                thread.thread_id,
                thread.author,
            )
        self.emit(
            forum.AnswerAccepted(answer_post_id=post, answer_author_id=author, **data),
            thread.thread_id,
            thread.author,
        )
        thread.accepted = (post, author)
        return None

    def _edit(self) -> None:
        thread = self.hot_thread()
        if thread is None:
            return None
        body = self.text(self.rng.randint(5, 30))
        self.emit(
            forum.PostEdited(
                post_id=thread.post_id,
                thread_id=thread.thread_id,
                editor_id=thread.author,
                fields=["body"],
                body=body,
            ),
            thread.thread_id,
            thread.author,
        )
        return None

    def _flag(self) -> None:
        thread = self.hot_thread()
        if thread is None:
            return None
        post, author = self.rng.choice([(thread.post_id, thread.author), *thread.replies])
        flagger = self.other(author)
        self.emit(
            forum.PostFlagged(
                post_id=post, thread_id=thread.thread_id, flagger_id=flagger, reason="spam"
            ),
            thread.thread_id,
            flagger,
        )
        return None

    def _moderate(self) -> None:
        """Hide, restore or delete a post (replies mostly: whole threads rarely go); a
        moderator gives back about a third of what was hidden."""
        if self.hidden and self.rng.random() < 0.35:
            post = self.rng.choice(sorted(self.hidden))
            thread, _kind, author = self.posts[post]
        else:
            picked = self.hot_thread(alive_only=False)
            if picked is None:
                return None
            thread = picked
            post, author = self.rng.choice([(thread.post_id, thread.author), *thread.replies])
        tid = thread.thread_id
        if post in self.deleted:
            return None
        if post in self.hidden:
            self.hidden.discard(post)
            self.emit(
                forum.PostRestored(
                    post_id=post, thread_id=tid, author_id=author, restored_by="moderator-1"
                ),
                tid,
                "moderator-1",
            )
        elif self.rng.random() < 0.6:
            self.hidden.add(post)
            self.emit(
                forum.PostHidden(post_id=post, thread_id=tid, author_id=author, reason="spam"),
                tid,
                "moderator-1",
            )
        else:
            self.deleted.add(post)
            kind = self.posts[post][1]
            self.emit(
                forum.PostDeleted(
                    post_id=post,
                    thread_id=tid,
                    author_id=author,
                    deleted_by=author,
                    kind=kind,  # type: ignore[arg-type]
                ),
                tid,
                author,
            )
        return None

    def _escalate(self) -> None:
        waiting = [t for t in self.open_questions[-300:] if not t.replies and not t.escalated]
        if not waiting:
            return None
        thread = self.rng.choice(waiting)
        thread.escalated = True
        asked = self.clock - timedelta(days=1)  # whole milliseconds, like the clock
        self.emit(
            forum.QuestionEscalated(
                thread_id=thread.thread_id,
                question_author_id=thread.author,
                asked_at=asked,
                escalated_at=self.clock,
                waited_seconds=86400,
                reason="unanswered",
            ),
            thread.thread_id,
            None,
        )
        if self.rng.random() < 0.7:
            self.emit(
                forum.EscalationResolved(
                    thread_id=thread.thread_id,
                    resolved_by="support-1",
                    resolution="answered_by_support",
                ),
                thread.thread_id,
                "support-1",
            )
        return None

    def _idea(self) -> None:
        who = self.member()
        iid = self.new_id("idea")
        self.ideas.append(_Idea(iid, who))
        self.emit(
            ideas.IdeaSubmitted(
                idea_id=iid,
                author_id=who,
                title=self.text(4).capitalize(),
                category=self.rng.choice(["ux", "integrations", "reports", "mobile"]),
                product_area=self.rng.choice(["app", "web", "api"]),
                description=self.text(20),
            ),
            iid,
            who,
        )

    def _some_idea(self) -> _Idea | None:
        live = [i for i in self.ideas[-200:] if not i.merged]
        return self.rng.choice(live) if live else None

    def _idea_vote(self) -> None:
        idea = self._some_idea()
        if idea is None:
            return self._idea()
        voter = self.other(idea.author)
        previous = self.votes.get((voter, idea.idea_id), 0)
        value = 0 if previous and self.rng.random() < 0.3 else 1
        if value == previous:
            return None
        self.votes[(voter, idea.idea_id)] = value
        self.idea_upvotes[idea.idea_id] = self.idea_upvotes.get(idea.idea_id, 0) + value - previous
        self.emit(
            ideas.IdeaVoteCast(
                target_id=idea.idea_id,
                target_author_id=idea.author,
                voter_id=voter,
                value=value,  # type: ignore[arg-type]
                previous_value=previous,  # type: ignore[arg-type]
            ),
            idea.idea_id,
            voter,
        )
        return None

    def _idea_comment(self) -> None:
        idea = self._some_idea()
        if idea is None:
            return None
        who = self.member()
        cid = self.new_id("comment")
        self.emit(
            ideas.IdeaCommented(idea_id=idea.idea_id, comment_id=cid, author_id=who),
            idea.idea_id,
            who,
        )
        return None

    def _idea_status(self) -> None:
        idea = self._some_idea()
        if idea is None or not IDEA_MOVES[idea.status]:
            return None
        to = self.rng.choice(IDEA_MOVES[idea.status])
        self.emit(
            ideas.IdeaStatusChanged(
                idea_id=idea.idea_id,
                author_id=idea.author,
                from_status=idea.status,  # type: ignore[arg-type]
                to_status=to,  # type: ignore[arg-type]
                changed_by="staff-1",
                note=self.text(3),
            ),
            idea.idea_id,
            "staff-1",
        )
        idea.status = to
        return None

    def _merge(self) -> None:
        live = [i for i in self.ideas[-200:] if not i.merged]
        if len(live) < 2:
            return None
        source, target = self.rng.sample(live, 2)
        source.merged = True
        moved = self.idea_upvotes.get(source.idea_id, 0)
        self.emit(
            ideas.IdeasMerged(
                source_idea_id=source.idea_id,
                target_idea_id=target.idea_id,
                moved_votes=moved,
                source_author_id=source.author,
                target_author_id=target.author,
            ),
            target.idea_id,
            "staff-1",
        )
        return None

    # -- gatherings and media (only in streams that ask for them, e.g. reputation_stream) --------

    def _checkin(self) -> None:
        """A member checks in at one of the recent gatherings (a new one now and then);
        checking in twice happens (a second device) and changes nothing."""
        if not self.gatherings or self.rng.random() < 0.08:
            self.gatherings.append((self.new_id("gathering"), self.member()))
        gathering, host = self.gatherings[
            -1 - int(self.rng.expovariate(1 / 3)) % len(self.gatherings)
        ]
        who = self.member()
        self.emit(
            gatherings.MemberCheckedIn(
                gathering_id=gathering, user_id=who, host_id=host, was_going=self.rng.random() < 0.8
            ),
            gathering,
            who,
        )

    def _media_vote(self) -> None:
        """A "helpful" vote on a gallery item (cast or withdrawn); now and then a moderator
        hides an item, restores it, or a new item is shared."""
        if not self.media or self.rng.random() < 0.1:
            self.media.append((self.new_id("media"), self.member()))
        item, author = self.media[-1 - int(self.rng.expovariate(1 / 8)) % len(self.media)]
        if self.rng.random() < 0.05:
            hidden = item in self.hidden_media
            data: EventData = (
                media.MediaRestored(media_id=item, author_id=author, restored_by="moderator")
                if hidden
                else media.MediaHidden(media_id=item, author_id=author, reason="spam")
            )
            (self.hidden_media.discard if hidden else self.hidden_media.add)(item)
            self.emit(data, item, "moderator")
            return
        voter = self.other(author)
        previous = self.votes.get((voter, item), 0)
        value = 0 if previous else 1
        self.votes[(voter, item)] = value
        self.emit(
            media.MediaVoted(
                target_id=item,
                gallery_id="gallery-1",
                target_author_id=author,
                voter_id=voter,
                value=value,  # type: ignore[arg-type]
                previous_value=previous,  # type: ignore[arg-type]
            ),
            item,
            voter,
        )


def community_stream(
    events: int,
    *,
    seed: int = 0,
    members: int = 2_000,
    start: datetime = datetime(2026, 9, 1, tzinfo=UTC),
    days: float = 30.0,
    actions: Sequence[tuple[str, float]] = ACTIONS,
) -> Stream:
    """About ``events`` contract events of a community of ``members`` over ``days`` days
    (a few more: some actions emit two events, such as an unaccept and an accept)."""
    rng = random.Random(seed)
    c = _Community(rng, members, start, mean_gap=days * 86400 / max(events, 1))
    names = [a for a, _ in actions]
    cum = list(itertools.accumulate(w for _, w in actions))
    for _ in range(8):  # a community starts with a few threads to talk in
        c.act("thread")
    while len(c.events) < events:
        c.act(rng.choices(names, cum_weights=cum)[0])
    return Stream(c.events[:events], c.members)


def reputation_stream(events: int, *, seed: int = 0, **kwargs: Any) -> Stream:
    """A stream dense in what moves reputation: votes, accepts, removals, idea statuses,
    gathering check-ins and helpful votes on media items."""
    weights = dict(ACTIONS)
    weights.update(vote=0.55, accept=0.07, moderate=0.02, idea_status=0.03, edit=0.0, flag=0.0)
    weights.update(checkin=0.08, media_vote=0.06)
    return community_stream(events, seed=seed, actions=tuple(weights.items()), **kwargs)


def disorder(
    events: Sequence[Envelope[Any]], rng: random.Random, *, duplicates: float = 0.2
) -> list[Envelope[Any]]:
    """The events shuffled, with a share of them delivered twice (at-least-once delivery in
    no fixed order across topics and partitions, SPEC 6)."""
    out = list(events) + rng.sample(list(events), int(len(events) * duplicates))
    rng.shuffle(out)
    return out


__all__ = ["Stream", "community_stream", "disorder", "reputation_stream", "topic_of"]
