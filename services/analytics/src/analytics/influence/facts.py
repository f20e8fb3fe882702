"""forum.events + ideas.events → the facts of the influence graph. Pure.

Every fact is ONE small document whose state is set whole by the event that changed it
last, so it never depends on history and a batch writes each touched fact once:

* ``influence_facts``:
  ``v|<post>|<voter>`` an up-vote on a post, ``iv|<idea>|<voter>`` on an idea,
  ``r|<post>`` a reply in a question thread, ``a|<thread>`` the thread's accepted
  answer. Fields: ``k`` kind (``vote``, ``idea_vote``, ``reply``, ``accept``), ``src``
  (the member helped: voter, asker), ``dst`` (the helper: author, answerer), ``day`` (of
  the event that set it), ``on`` (standing: false once the vote is withdrawn or turned
  into a down-vote, the answer unaccepted), ``post``, ``th`` (thread), ``w`` (order key);
* ``influence_posts``: ``<post>`` → ``gone`` (deleted or hidden now), ``th``, ``open``
  (the thread's question itself);
* ``influence_threads``: ``<thread>`` → author ``a``, kind ``k``, opening post ``post``
  (never changes; a reply needs its thread's asker and kind).

**Order key** ``w``: ``<event time, µs>|<offset>|<event id>``. A fact's events all come
from one partition (the thread's or the idea's key), and the event that set a fact last
is the one with the highest key: the write's filter requires the stored ``w`` to be
lower (and the stored event id, the key's last part, to be another) and ``$set`` stores
the new one, so the applied position is recorded inside the very same single-document
update as the state (SPEC 6). A redelivered batch does not match. A republished copy
(the same event again at a later offset, from an outbox relay that crashed between
publishing and marking) carries its original time, so it loses to anything that came
after the original, and is refused by the event id when the original is the last one
applied (or earlier in the same batch). The one bound: a copy of an event published in
the very millisecond of the fact's next event would win over it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from communitykit.consumer import Received
from schemas import forum as f
from schemas import ideas as i

FACTS, POSTS, THREADS = "influence_facts", "influence_posts", "influence_threads"
#: the collections that make up the graph (compared by ``make rebuild``)
COLLECTIONS = (FACTS, POSTS, THREADS)


@dataclass(frozen=True)
class ThreadInfo:
    author: str
    kind: str
    post: str


@dataclass
class Batch:
    """The writes of one batch: per document, its last state and order key."""

    facts: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    posts: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    threads: dict[str, ThreadInfo] = field(default_factory=dict)

    def _set(
        self, into: dict[str, tuple[str, dict[str, Any]]], key: str, w: str, state: dict[str, Any]
    ) -> None:
        old = into.get(key)
        if old is None or old[0] < w:
            into[key] = (w, state)


def order_key(t: datetime, offset: int, event_id: str) -> str:
    return f"{t.astimezone(UTC):%Y-%m-%dT%H:%M:%S.%f}|{offset:015d}|{event_id}"


def thread_refs(batch: Iterable[Received]) -> set[str]:
    """Threads whose asker, kind or opening post the batch needs."""
    out = set()
    for r in batch:
        d = r.event.data
        reply = isinstance(d, f.PostCreated) and d.parent_post_id is not None
        if reply or isinstance(d, f.PostHidden | f.PostRestored):
            out.add(d.thread_id)
    return out


def collect(batch: Iterable[Received], known: Mapping[str, ThreadInfo]) -> Batch:
    """The batch's facts, in partition order (threads opened in the batch are learnt as
    they come: the opening post precedes its replies in the thread's partition)."""
    out = Batch()
    threads = dict(known)
    seen: set[str] = set()
    for r in sorted(batch, key=lambda x: (x.topic, x.partition, x.offset)):
        if r.event.id in seen:
            continue  # a republished copy of an event earlier in the batch
        seen.add(r.event.id)
        d: Any = r.event.data
        w = order_key(r.event.time, r.offset, r.event.id)
        day = r.event.time.astimezone(UTC).date().isoformat()
        if isinstance(d, f.PostCreated):
            if d.parent_post_id is None:
                info = ThreadInfo(d.author_id, d.kind, d.post_id)
                threads[d.thread_id] = out.threads[d.thread_id] = info
            elif d.kind == "reply":
                th = threads.get(d.thread_id)
                if th is not None and th.kind == "question":
                    out._set(
                        out.facts,
                        f"r|{d.post_id}",
                        w,
                        _fact("reply", th.author, d.author_id, day, True, d.post_id, d.thread_id),
                    )
        elif isinstance(d, f.VoteCast):
            state = _fact(
                "vote", d.voter_id, d.target_author_id, day, d.value > 0, d.target_id, d.thread_id
            )
            out._set(out.facts, f"v|{d.target_id}|{d.voter_id}", w, state)
        elif isinstance(d, i.IdeaVoteCast):
            state = _fact("idea_vote", d.voter_id, d.target_author_id, day, d.value > 0)
            out._set(out.facts, f"iv|{d.target_id}|{d.voter_id}", w, state)
        elif isinstance(d, f.AnswerAccepted | f.AnswerUnaccepted):
            state = _fact(
                "accept",
                d.question_author_id,
                d.answer_author_id,
                day,
                isinstance(d, f.AnswerAccepted),
                d.answer_post_id,
                d.thread_id,
            )
            out._set(out.facts, f"a|{d.thread_id}", w, state)
        elif isinstance(d, f.PostDeleted | f.PostHidden | f.PostRestored):
            th = threads.get(d.thread_id)
            opening = d.kind != "reply" if isinstance(d, f.PostDeleted) else None
            if opening is None:
                opening = th is not None and th.post == d.post_id
            gone = not isinstance(d, f.PostRestored)
            out._set(out.posts, d.post_id, w, {"gone": gone, "th": d.thread_id, "open": opening})
    return out


def _fact(
    kind: str,
    src: str,
    dst: str,
    day: str,
    on: bool,
    post: str | None = None,
    thread: str | None = None,
) -> dict[str, Any]:
    doc: dict[str, Any] = {"k": kind, "src": src, "dst": dst, "day": day, "on": on}
    if post is not None:
        doc["post"] = post
    if thread is not None:
        doc["th"] = thread
    return doc
