"""What used to be one fold over a member's whole profile, split into pieces whose cost is
their own size (issue 28): a member's accepted answers, idea statuses and badges no longer
cost a pass over everything the member ever did.

* a **thread scope** per question thread: its accepts and unaccepts and the removals of the
  answers they name. It gives each user involved their ledger parts (accepted answers are
  independent per thread: ``_Fold._count_accept`` adds per thread), the ``helpful`` candidate
  (their first accepted answer there) and the thread's *solved timeline* for them (when, by
  (time, id), the thread started and stopped counting as solved by their answer);
* an **idea scope** per idea: its statuses (ledger parts; ``visionary`` at the first move to
  completed) and its votes (``popular-idea`` at the first vote after which 10 up-votes
  stand);
* **activity points** (the first and last occurrence per kind and UTC day, see
  ``scopes.activity_facts``) give ``first-question``, ``first-answer``, ``reviewer`` (its
  first five reviews) and ``champion``; the champion candidate of new points is found by a
  sweep over the 30 days around them only.

Every badge is then the earliest candidate by (time, id) (``problem-solver``: the first
accepted answer after which 10 of the member's threads count as solved, from the threads'
timelines). Unit tests pin all of it to the whole fold.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from . import rules
from .facts import Fact, Removal
from .fold import Part, fold
from .scopes import PROFILE, keep

#: (time, event id): the canonical order of facts, and a badge's candidate
Key = tuple[datetime, str]

#: activity label → champion activity kind (SPEC 4: asked, answered, voted, ideas, wrote)
KIND_OF_LABEL = {
    "question": "asked",
    "reply": "answered",
    "voted": "voted",
    "ideas": "ideas",
    "article": "wrote",
    "review": "wrote",
}


def key_of(f: Fact | Removal) -> Key:
    return (f.at, f.event_id)


@dataclass
class ThreadShare:
    """What one thread scope gives one user."""

    parts: list[Part] = field(default_factory=list)
    #: their accepted answers there (answer author, not accepting their own): helpful and
    #: problem-solver are awarded at such an event
    accepted: list[Key] = field(default_factory=list)
    #: (when, counts as solved by them from then on), in (time, id) order
    solved: list[tuple[Key, bool]] = field(default_factory=list)


def thread_scope(accepts: list[Fact], removals: list[Removal]) -> dict[str, ThreadShare]:
    """The shares of one thread's accepts (and removals of the answers they name). Each user
    sees only the accepts that name them (their facts, as in the whole fold): for the author
    of an answer accepted and then replaced, the replacing accept is not theirs."""
    users = sorted(
        {u for f in accepts for u in (f.data["answer_author_id"], f.data["question_author_id"])}
    )
    return {u: _share(u, [f for f in accepts if _names(f, u)], removals) for u in users}


def _names(f: Fact, user: str) -> bool:
    return user in (f.data["answer_author_id"], f.data["question_author_id"])


def _share(user: str, accepts: list[Fact], removals: list[Removal]) -> ThreadShare:
    share = ThreadShare([p for p in fold(user, accepts, removals, PROFILE).parts if keep(p)])
    steps: list[tuple[Key, Fact | Removal]] = [(key_of(f), f) for f in accepts]
    steps += [(key_of(r), r) for r in {r.event_id: r for r in removals}.values()]
    standing: dict[str, str] | None = None
    removed: set[str] = set()
    solved = False  # the thread counts as solved by the user's answer
    for key, step in sorted(steps, key=lambda s: s[0]):
        if isinstance(step, Removal):
            if step.restored:
                removed.discard(step.post_id)
            else:
                removed.add(step.post_id)
        else:
            d = step.data
            if d["accepted"]:
                standing = d
                if d["answer_author_id"] == user != d["question_author_id"]:
                    share.accepted.append(key)
            elif standing is not None and standing["answer_post_id"] == d["answer_post_id"]:
                standing = None  # an unaccept ends only the accept it names
        now = (
            standing is not None
            and standing["answer_author_id"] == user != standing["question_author_id"]
            and standing["answer_post_id"] not in removed
        )
        if now != solved:
            share.solved.append((key, now))
            solved = now
    return share


def problem_solver(timelines: Iterable[list[tuple[Key, bool]]], accepted: list[Key]) -> Key | None:
    """The first accepted answer after which at least 10 threads count as solved by the
    member (each timeline is one thread's, for this member)."""
    if not accepted:
        return None
    changes = sorted((k, n, solved) for n, tl in enumerate(timelines) for k, solved in tl)
    solved: set[int] = set()
    i = 0
    for candidate in sorted(accepted):
        while i < len(changes) and changes[i][0] <= candidate:
            _k, thread, now = changes[i]
            if now:
                solved.add(thread)
            else:
                solved.discard(thread)
            i += 1
        if len(solved) >= rules.PROBLEM_SOLVER_ACCEPTS:
            return candidate
    return None


@dataclass
class IdeaShare:
    """What one idea scope gives its author."""

    parts: list[Part]
    visionary: Key | None  # its first move to completed
    popular: Key | None  # the first vote after which 10 up-votes stand


def idea_scope(author: str, statuses: list[Fact], votes: list[Fact]) -> IdeaShare:
    parts = [p for p in fold(author, statuses, [], PROFILE).parts if keep(p)]
    completed = [key_of(f) for f in statuses if f.data["to_status"] == "completed"]
    standing: dict[str, int] = {}
    up = 0
    popular = None
    for f in sorted(votes):
        voter, value = f.data["voter_id"], int(f.data["value"])
        up += (value > 0) - (standing.get(voter, 0) > 0)
        standing[voter] = value
        if up >= rules.POPULAR_IDEA_VOTES:
            popular = key_of(f)
            break
    return IdeaShare(parts, min(completed) if completed else None, popular)


def champion(points: list[tuple[Key, str]], since: datetime) -> Key | None:
    """The first activity point at or after ``since`` at which 4 of the 5 kinds happened
    within the last 30 days. ``points`` must hold every point of the 30 days before
    ``since`` and after it (label per point, see ``KIND_OF_LABEL``)."""
    window = timedelta(days=rules.CHAMPION_WINDOW_DAYS)
    last: dict[str, datetime] = {}
    for key, label in sorted(points):
        at = key[0]
        last[KIND_OF_LABEL[label]] = at
        if at < since:
            continue
        if sum(1 for t in last.values() if t >= at - window) >= rules.CHAMPION_KINDS_NEEDED:
            return key
    return None


def earliest(*keys: Key | None) -> Key | None:
    present = [k for k in keys if k is not None]
    return min(present) if present else None
