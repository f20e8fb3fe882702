"""Who is told what about one event (issue 25 item 2): pure, against an in-memory ``World``.

The projection loads into a ``World`` what a batch needs (threads, post authors, follows of
the scopes the batch touches, known users) and applies the batch's events in order with
:func:`candidates`, which also records what the events teach (new threads and posts, default
follows, users who exist). Gatherings and analytics events are read by type NAME and from
their data as a plain dict, so the handling works before their schema modules land and ignores
types it does not know.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .classes import priority_of
from .follows import ACTIVE, follow_id, most_specific, target_key

#: "@name": a user id as the platform issues them (letters, digits, _ . -), not an e-mail
MENTION = re.compile(r"(?<![\w@.])@([A-Za-z0-9][A-Za-z0-9_.-]{0,63})")


def mentions(body: str | None) -> list[str]:
    """User ids mentioned in ``body``, in order, without repeats (a trailing dot is prose)."""
    out: list[str] = []
    for m in MENTION.finditer(body or ""):
        name = m[1].rstrip(".")
        if name and name not in out:
            out.append(name)
    return out


@dataclass(frozen=True)
class Candidate:
    """One notification to decide: for ``recipient``, of ``kind``, because of ``source``."""

    recipient: str
    kind: str
    source_event_id: str
    #: inbox collapse key ("5 new replies in ..."): same group, one entry
    group: str
    text: str
    link: str
    #: follow level of the scope it comes from (None: not followed)
    level: str | None = None
    #: the entry's text once several collapse into it ("{n}" is their number)
    many: str = ""

    @property
    def notification_id(self) -> str:
        return notification_id(self.recipient, self.source_event_id, self.kind)


def notification_id(recipient: str, source_event_id: str, kind: str) -> str:
    """Deterministic: one notification per (recipient, source event, reason)."""
    raw = f"{recipient}\x1f{source_event_id}\x1f{kind}".encode()
    return "n_" + hashlib.sha256(raw).hexdigest()[:32]


@dataclass
class ThreadMeta:
    author: str
    title: str
    group_id: str | None = None
    tags: list[str] = field(default_factory=list)


@dataclass
class World:
    """What the batch knows: loaded from the store, extended by the batch's own events."""

    threads: dict[str, ThreadMeta] = field(default_factory=dict)
    post_authors: dict[str, str] = field(default_factory=dict)
    ideas: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (author, title)
    #: target key -> {member: level}
    follows: dict[str, dict[str, str]] = field(default_factory=dict)
    users: set[str] = field(default_factory=set)
    staff: frozenset[str] = frozenset()
    #: what the batch learnt, for the projection to write
    new_threads: dict[str, ThreadMeta] = field(default_factory=dict)
    new_posts: dict[str, tuple[str, str]] = field(default_factory=dict)  # post -> (author, thread)
    new_ideas: dict[str, tuple[str, str]] = field(default_factory=dict)
    new_follows: dict[str, tuple[str, str, str, str]] = field(default_factory=dict)
    new_users: set[str] = field(default_factory=set)
    #: the position (source partition, offset) of the event being applied, set by the
    #: projection before each event; ``taught`` keeps, per learnt fact, the position of the
    #: event that taught it first (a redelivery must not see a fact before the event that
    #: taught it, or it would decide differently from the first time)
    at: tuple[str, int] | None = None
    taught: dict[str, tuple[str, int]] = field(default_factory=dict)

    def _teach(self, key: str) -> None:
        if self.at is not None:
            self.taught.setdefault(key, self.at)

    def learn_thread(self, thread_id: str, meta: ThreadMeta) -> None:
        self.threads[thread_id] = meta
        self.new_threads[thread_id] = meta
        self._teach("thread:" + thread_id)

    def learn_post(self, post_id: str, author: str, thread_id: str) -> None:
        self.post_authors[post_id] = author
        self.new_posts[post_id] = (author, thread_id)
        self._teach("post:" + post_id)

    def learn_idea(self, idea_id: str, author: str, title: str) -> None:
        self.ideas[idea_id] = (author, title)
        self.new_ideas[idea_id] = (author, title)
        self._teach("idea:" + idea_id)

    def level(self, scope: str, target: str, member: str) -> str | None:
        return self.follows.get(target_key(scope, target), {}).get(member)

    def followers(self, scope: str, target: str) -> dict[str, str]:
        return self.follows.get(target_key(scope, target), {})

    def default_follow(self, member: str, scope: str, target: str, level: str) -> None:
        """A default follow: only where the member has made no choice (explicit or default)."""
        fid = follow_id(member, scope, target)
        current = self.follows.setdefault(target_key(scope, target), {})
        if member in current:
            return
        current[member] = level
        self.new_follows[fid] = (member, scope, target, level)
        self._teach("follow:" + fid)

    def know(self, *users: str | None) -> None:
        for u in users:
            if u and u not in self.users:
                self.users.add(u)
                self.new_users.add(u)
                self._teach("user:" + u)

    def thread_level(self, thread_id: str, member: str) -> str | None:
        meta = self.threads.get(thread_id)
        levels: list[str | None] = [self.level("thread", thread_id, member)]
        if meta is not None:
            if meta.group_id:
                levels.append(self.level("group", meta.group_id, member))
            tag_levels = [self.level("tag", t, member) for t in meta.tags]
            # among tags, the most engaged level counts
            levels.append(
                next(
                    (lv for lv in ("watching", "tracking", "normal", "muted") if lv in tag_levels),
                    None,
                )
            )
        return most_specific(levels)

    def thread_watchers(self, thread_id: str) -> dict[str, str]:
        """Members whose most specific level for the thread is watching or tracking."""
        meta = self.threads.get(thread_id)
        pool: set[str] = set(self.followers("thread", thread_id))
        if meta is not None:
            if meta.group_id:
                pool |= set(self.followers("group", meta.group_id))
            for t in meta.tags:
                pool |= set(self.followers("tag", t))
        out = {}
        for m in pool:
            lv = self.thread_level(thread_id, m)
            if lv in ACTIVE:
                out[m] = lv
        return out


def _name(event_type: str) -> tuple[str, str]:
    parts = event_type.split(".")
    return (parts[1], parts[2]) if len(parts) >= 4 else ("", event_type)


def _data(event: Any) -> dict[str, Any]:
    data = event.data
    return data.model_dump() if hasattr(data, "model_dump") else dict(data)


def needs(event: Any) -> dict[str, set[str]]:
    """The keys ``candidates`` will look up for ``event`` (what the projection loads)."""
    producer, name = _name(event.type)
    d = _data(event)
    out: dict[str, set[str]] = {
        "threads": set(),
        "posts": set(),
        "ideas": set(),
        "targets": set(),
        "users": set(),
    }
    thread = d.get("thread_id")
    if producer == "forum" and thread:
        out["threads"].add(thread)
        out["targets"].add(target_key("thread", thread))
        if d.get("group_id"):
            out["targets"].add(target_key("group", d["group_id"]))
        for t in d.get("tags") or []:
            out["targets"].add(target_key("tag", t))
        if d.get("parent_post_id"):
            out["posts"].add(d["parent_post_id"])
        out["users"].update(mentions(d.get("body")))
    if producer == "ideas":
        idea = d.get("idea_id") or d.get("target_id")
        if idea:
            out["ideas"].add(idea)
            out["targets"].add(target_key("idea", idea))
    if producer == "gatherings" and d.get("gathering_id"):
        out["targets"].add(target_key("gathering", d["gathering_id"]))
    if producer == "analytics" and d.get("dimension") == "tag" and d.get("key"):
        out["targets"].add(target_key("tag", d["key"]))
    if producer == "forum" and name == "GroupJoined":
        out["targets"].add(target_key("group", d["group_id"]))
    return out


def _strings(v: Any) -> list[str]:
    if isinstance(v, str) and v:
        return [v]
    if isinstance(v, list):
        return [x for x in v if isinstance(x, str) and x]
    return []


def candidates(event: Any, world: World) -> list[Candidate]:
    """The notifications ``event`` calls for (at most one per recipient: the most important),
    never for the actor; ``world`` learns what the event teaches."""
    producer, name = _name(event.type)
    handler = _HANDLERS.get((producer, name))
    if handler is None:
        return []  # a type we do not notify about (or do not know yet): ignored
    d = _data(event)
    who = actors(event)
    found = handler(event.id, d, world)
    best: dict[str, Candidate] = {}
    for c in found:
        if not c.recipient or c.recipient in who:
            continue  # never notify members of their own actions
        prev = best.get(c.recipient)
        if prev is None or priority_of(c.kind) < priority_of(prev.kind):
            best[c.recipient] = c
    return list(best.values())


Handler = Callable[[str, dict[str, Any], World], list[Candidate]]


def _post_created(eid: str, d: dict[str, Any], w: World) -> list[Candidate]:
    thread, author = d["thread_id"], d["author_id"]
    w.know(author)
    w.learn_post(d["post_id"], author, thread)
    out: list[Candidate] = []
    link = f"/threads/{thread}"
    if d["kind"] != "reply":
        meta = ThreadMeta(
            author, d.get("title") or "", d.get("group_id"), list(d.get("tags") or [])
        )
        w.learn_thread(thread, meta)
        w.default_follow(author, "thread", thread, "watching")  # you watch what you asked
        title = meta.title or "a new thread"
        for m, lv in w.thread_watchers(thread).items():
            if m != author:
                out.append(
                    Candidate(
                        m,
                        "watched_post",
                        eid,
                        f"new:{meta.group_id or ''}",
                        f"New thread: {title}",
                        link,
                        lv,
                    )
                )
    else:
        meta_or = w.threads.get(thread)
        title = meta_or.title if meta_or and meta_or.title else "a thread"
        group = f"thread:{thread}"
        parent = d.get("parent_post_id")
        to = w.post_authors.get(parent) if parent else None
        if to is None and meta_or is not None:
            to = meta_or.author
        many = "{n} new replies in " + title
        for m, lv in w.thread_watchers(thread).items():
            out.append(
                Candidate(m, "watched_post", eid, group, f"New reply in {title}", link, lv, many)
            )
        if to:
            out.append(
                Candidate(
                    to,
                    "reply",
                    eid,
                    group,
                    f"New reply to your post in {title}",
                    link,
                    w.thread_level(thread, to),
                    many,
                )
            )
        w.default_follow(author, "thread", thread, "watching")  # you watch what you answered
    for user in mentions(d.get("body")):
        if user in w.users and user != author:
            out.append(
                Candidate(
                    user,
                    "mention",
                    eid,
                    f"mention:{thread}",
                    f"{author} mentioned you",
                    link,
                    w.thread_level(thread, user),
                )
            )
    return out


def _simple(
    kind: str, who: str, text: str, link_of: str = "/threads/{thread_id}", group: str = "{kind}"
) -> Handler:
    def handle(eid: str, d: dict[str, Any], w: World) -> list[Candidate]:
        recipient = d.get(who) if who in d else None
        if who == "thread_author":
            meta = w.threads.get(d.get("thread_id", ""))
            recipient = meta.author if meta else None
        if not recipient:
            return []
        fmt = {**d, "kind": kind}
        return [
            Candidate(
                recipient, kind, eid, group.format(**fmt), text.format(**fmt), link_of.format(**fmt)
            )
        ]

    return handle


def _escalation_resolved(eid: str, d: dict[str, Any], w: World) -> list[Candidate]:
    if d.get("resolution") != "answered_by_support":
        return []
    return _simple("escalation_answered", "thread_author", "Support answered your question")(
        eid, d, w
    )


def _idea_submitted(eid: str, d: dict[str, Any], w: World) -> list[Candidate]:
    w.know(d["author_id"])
    w.learn_idea(d["idea_id"], d["author_id"], d.get("title", ""))
    w.default_follow(d["author_id"], "idea", d["idea_id"], "watching")
    return []


def _idea_vote(eid: str, d: dict[str, Any], w: World) -> list[Candidate]:
    w.know(d["voter_id"], d.get("target_author_id"))
    if d.get("value", 0) > 0:
        w.default_follow(d["voter_id"], "idea", d["target_id"], "watching")
    return []


def _idea_followers(kind: str, text: str) -> Handler:
    def handle(eid: str, d: dict[str, Any], w: World) -> list[Candidate]:
        idea = d["idea_id"]
        title = w.ideas.get(idea, ("", ""))[1] or "an idea"
        if kind == "idea_comment":
            w.know(d.get("author_id"))
        return [
            Candidate(
                m, kind, eid, f"idea:{idea}", text.format(title=title, **d), f"/ideas/{idea}", lv
            )
            for m, lv in w.followers("idea", idea).items()
            if lv in ACTIVE
        ]

    return handle


def _know(*fields: str) -> Handler:
    def handle(eid: str, d: dict[str, Any], w: World) -> list[Candidate]:
        w.know(*(d.get(f) for f in fields))
        return []

    return handle


def _group_joined(eid: str, d: dict[str, Any], w: World) -> list[Candidate]:
    w.know(d["user_id"])
    w.default_follow(d["user_id"], "group", d["group_id"], "normal")
    return []


def _level_changed(eid: str, d: dict[str, Any], w: World) -> list[Candidate]:
    if d["to_level"] <= d["from_level"]:
        return []
    return [
        Candidate(
            d["user_id"],
            "level",
            eid,
            "level",
            f"You reached level {d['to_level']}",
            f"/users/{d['user_id']}",
        )
    ]


# ---- gatherings (issue 23): fields as in schemas.gatherings ---------------------------------
def _rsvp_changed(eid: str, d: dict[str, Any], w: World) -> list[Candidate]:
    """RsvpChanged: going to a gathering makes one watch it (issue 25's defaults)."""
    member, gathering = d.get("user_id"), d.get("gathering_id")
    w.know(member)
    if member and gathering and d.get("to_status") == "going":
        w.default_follow(member, "gathering", gathering, "watching")
    return []


def _seat_offered(eid: str, d: dict[str, Any], w: World) -> list[Candidate]:
    """SeatOffered: a waitlisted member got a seat; emitted once per promotion."""
    member, gathering = d.get("user_id"), d.get("gathering_id")
    if not member or not gathering:
        return []
    w.know(member)
    w.default_follow(member, "gathering", gathering, "watching")
    return [
        Candidate(
            member,
            "seat_offered",
            eid,
            f"gathering:{gathering}",
            "A seat opened up for you",
            f"/gatherings/{gathering}",
        )
    ]


def _reminder_due(eid: str, d: dict[str, Any], w: World) -> list[Candidate]:
    member, gathering = d.get("user_id"), d.get("gathering_id")
    if not member or not gathering:
        return []
    title = d.get("title") or "a gathering"
    return [
        Candidate(
            member,
            "gathering_reminder",
            eid,
            f"gathering:{gathering}",
            f"Reminder: {title} starts soon",
            d.get("join_url") or f"/gatherings/{gathering}",
            w.level("gathering", gathering, member),
        )
    ]


def _gathering_cancelled(eid: str, d: dict[str, Any], w: World) -> list[Candidate]:
    """GatheringCancelled: everyone who held a seat or a waitlist place (named by the
    event), and whoever watches the gathering."""
    gathering = d.get("gathering_id")
    if not gathering:
        return []
    pool: dict[str, str | None] = {
        m: lv for m, lv in w.followers("gathering", gathering).items() if lv != "normal"
    }
    for m in _strings(d.get("going_ids")) + _strings(d.get("waitlisted_ids")):
        pool.setdefault(m, w.level("gathering", gathering, m))
    return [
        Candidate(
            m,
            "gathering_cancelled",
            eid,
            f"gathering:{gathering}",
            "A gathering you were going to was cancelled",
            f"/gatherings/{gathering}",
            lv,
        )
        for m, lv in pool.items()
    ]


def _giveaway_drawn(eid: str, d: dict[str, Any], w: World) -> list[Candidate]:
    """GiveawayDrawn: each winner of this round (a redraw names only its new winners)."""
    gathering = d.get("gathering_id") or ""
    return [
        Candidate(
            u,
            "giveaway_won",
            eid,
            f"giveaway:{d.get('giveaway_id', '')}",
            "You won a giveaway",
            f"/gatherings/{gathering}",
        )
        for u in _strings(d.get("winners"))
    ]


# ---- analytics (issue 26): listening's alerts, fields as in schemas.analytics ------------
def _alert_link(d: dict[str, Any]) -> str:
    threads = _strings(d.get("thread_ids"))
    return f"/threads/{threads[0]}" if threads else "/"


def _about(d: dict[str, Any]) -> str:
    return f"{d.get('dimension', 'topic')} {d.get('key') or 'a topic'}"


def _trend_detected(eid: str, d: dict[str, Any], w: World) -> list[Candidate]:
    """TrendDetected: more questions than usual on a product or tag; staff, and the members
    who follow the tag."""
    pool: dict[str, str | None] = {s: None for s in w.staff}
    if d.get("dimension") == "tag" and isinstance(d.get("key"), str):
        pool.update({m: lv for m, lv in w.followers("tag", d["key"]).items()})
    text = f"Trending: more questions than usual on {_about(d)}"
    return [
        Candidate(m, "trending", eid, "trending", text, _alert_link(d), lv)
        for m, lv in pool.items()
    ]


def _sentiment_dropped(eid: str, d: dict[str, Any], w: World) -> list[Candidate]:
    """SentimentDropped: more negative posts than usual on a product or tag; staff only (an
    emerging issue to look at before members do)."""
    text = f"More negative posts than usual on {_about(d)}"
    return [
        Candidate(s, "emerging_issue", eid, "emerging_issue", text, _alert_link(d)) for s in w.staff
    ]


_HANDLERS: dict[tuple[str, str], Handler] = {
    ("forum", "PostCreated"): _post_created,
    ("forum", "AnswerAccepted"): _simple(
        "answer_accepted", "answer_author_id", "Your answer was accepted"
    ),
    ("forum", "PostHidden"): _simple("post_hidden", "author_id", "A post of yours was hidden"),
    ("forum", "PostRestored"): _simple(
        "post_restored", "author_id", "A post of yours was restored"
    ),
    ("forum", "EscalationAcknowledged"): _simple(
        "escalation_acknowledged", "thread_author", "Support is looking at your question"
    ),
    ("forum", "EscalationResolved"): _escalation_resolved,
    ("forum", "VoteCast"): _know("voter_id", "target_author_id"),
    ("forum", "GroupJoined"): _group_joined,
    ("forum", "GroupCreated"): _know("owner_id"),
    ("ideas", "IdeaSubmitted"): _idea_submitted,
    ("ideas", "VoteCast"): _idea_vote,
    ("ideas", "IdeaCommented"): _idea_followers("idea_comment", "New comment on {title}"),
    ("ideas", "IdeaStatusChanged"): _idea_followers("idea_status", "{title} is now {to_status}"),
    ("reputation", "BadgeAwarded"): _simple(
        "badge", "user_id", "You earned the {badge} badge", "/users/{user_id}", "badge"
    ),
    ("reputation", "LevelChanged"): _level_changed,
    ("reputation", "ReputationChanged"): _know("user_id"),
    ("gatherings", "RsvpChanged"): _rsvp_changed,
    ("gatherings", "SeatOffered"): _seat_offered,
    ("gatherings", "GatheringReminderDue"): _reminder_due,
    ("gatherings", "GatheringCancelled"): _gathering_cancelled,
    ("gatherings", "GiveawayDrawn"): _giveaway_drawn,
    ("analytics", "TrendDetected"): _trend_detected,
    ("analytics", "SentimentDropped"): _sentiment_dropped,
}

#: the data field naming who did it, where the envelope's ``actorid`` may be missing
ACTOR_FIELDS: dict[tuple[str, str], str] = {
    ("forum", "PostCreated"): "author_id",
    ("forum", "EscalationAcknowledged"): "acknowledged_by",
    ("forum", "EscalationResolved"): "resolved_by",
    ("forum", "PostRestored"): "restored_by",
    ("forum", "VoteCast"): "voter_id",
    ("forum", "GroupJoined"): "user_id",
    ("ideas", "IdeaSubmitted"): "author_id",
    ("ideas", "IdeaCommented"): "author_id",
    ("ideas", "IdeaStatusChanged"): "changed_by",
    ("ideas", "VoteCast"): "voter_id",
    ("gatherings", "GatheringCancelled"): "cancelled_by",
    ("gatherings", "RsvpChanged"): "user_id",
}


def actors(event: Any) -> set[str]:
    """Who did it: the envelope's actor and the event's own actor field (members active now)."""
    out = {event.actorid} if getattr(event, "actorid", None) else set()
    field_name = ACTOR_FIELDS.get(_name(event.type))
    if field_name:
        value = _data(event).get(field_name)
        if isinstance(value, str) and value:
            out.add(value)
    return out
