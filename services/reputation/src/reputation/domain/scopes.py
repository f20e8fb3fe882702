"""Fold only what an event can affect (issue 8): the scopes of a user's reputation.

A user's raw sum splits into independent pieces (``fold.Scope``):

* one **day scope** per (author, UTC day a vote was cast): the capped up-votes and the
  down-votes cast that day on the author's content, with serial voting (ranked within that
  day) and removals. It needs the votes cast that day on the author's posts and ideas, the
  *whole* history of each (voter, target) pair among them (a later vote, on any day, ends a
  vote's standing) and the removals of those targets. The same scope also gives the voters
  their part (-1 for a down-vote on a reply), so a voter's sum has pieces in the day scopes
  of the authors they down-voted;
* one **profile scope** per user: accepted answers, idea statuses and every badge. It needs
  the accept facts of the user's threads, statuses and votes of the user's ideas, reviews,
  the removals of accepted answers, and *activity points*: for each activity kind and UTC
  day only the first and the last occurrence (enough for the champion badge, see
  :func:`activity_facts`).

Each scope folds alone; a user's ledger line for an event is the sum of that event's parts
over the scopes that see it (``fold.show``). :func:`compose` puts the pieces together the
way the projection stores them; the unit tests pin it to the whole fold.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from .facts import Fact, Removal
from .fold import Entry, Part, Scope, fold, show, utc_day

#: activity label of a post kind (reviews are kept whole: the reviewer badge counts them)
POST_ACTIVITY = {"question": "question", "reply": "reply", "article": "article"}


def day_scope(day: date) -> Scope:
    return Scope(day=day, others=False)


PROFILE = Scope(votes=False)


def pair_of(fact: Fact) -> str:
    """A (target, voter) pair: its latest vote by (time, id) is the standing one."""
    return f"{fact.data['target_id']}|{fact.data['voter_id']}"


def keep(p: Part) -> bool:
    """Parts worth storing: the primary one (it carries the reason) and any that count."""
    return p.primary or p.delta != 0


def costs_a_voter(fact: Fact) -> bool:
    d = fact.data
    return int(d["value"]) < 0 and d["target_kind"] == "reply" and d["voter_id"] != d["author_id"]


def derive_day(
    author: str, day: date, votes: list[Fact], removals: list[Removal]
) -> dict[str, list[Part]]:
    """The parts of one day scope, per user: the author, and every voter whose down-votes
    on replies may cost them something there."""
    scope = day_scope(day)
    out = {author: [p for p in fold(author, votes, removals, scope).parts if keep(p)]}
    for voter in sorted({f.data["voter_id"] for f in votes if costs_a_voter(f)}):
        mine = [f for f in votes if f.data["voter_id"] == voter]
        out[voter] = [p for p in fold(voter, mine, removals, scope).parts if keep(p)]
    return out


@dataclass
class Profile:
    raw: int
    parts: list[Part]
    badges: dict[str, str]
    badge_times: dict[str, datetime]


def derive_profile(user: str, facts: list[Fact], removals: list[Removal]) -> Profile:
    st = fold(user, facts, removals, PROFILE)
    return Profile(st.raw, [p for p in st.parts if keep(p)], st.badges, st.badge_times)


# -- what goes where --------------------------------------------------------------------------


def in_profile(fact: Fact) -> bool:
    """Kept whole in the user's profile (everything else there is an activity point)."""
    d = fact.data
    if fact.kind in ("accept", "status", "checkin"):
        return True
    if fact.kind == "post":
        return bool(d["kind"] == "review")
    if fact.kind == "vote":
        return bool(d["target_type"] == "idea" and d["author_id"] == fact.user_id)
    return False


def activity_label(fact: Fact) -> str | None:
    """The activity point a fact makes for its user (compressed to first/last per day)."""
    d = fact.data
    if fact.kind == "post":
        return POST_ACTIVITY.get(d["kind"])
    if fact.kind == "idea":
        return "ideas"
    if fact.kind == "vote" and d["voter_id"] == fact.user_id:
        return "ideas" if d["target_type"] == "idea" else "voted"
    return None


def activity_facts(user: str, points: dict[tuple[str, date], list[Fact]]) -> list[Fact]:
    """Facts standing for the activity points: per (label, UTC day) the first and the last
    occurrence by (time, id).

    Why that is exact for the champion badge: it is awarded at the first activity after
    which 4 kinds each have an occurrence in the last 30 days. That activity's kind was
    absent from the window just before it, so it is the first of its kind on its UTC day;
    and "some occurrence of a kind within [t - 30 d, t]" only needs the last occurrence of
    the window's first day, the first of its last day and any of the days between. The
    first question and first reply (badges) are first occurrences too."""
    out: list[Fact] = []
    for (label, _day), occurrences in sorted(points.items()):
        lo, hi = min(occurrences), max(occurrences)
        for f in {lo.event_id: lo, hi.event_id: hi}.values():
            if label in POST_ACTIVITY:
                out.append(Fact(f.at, f.event_id, user, "post", {"kind": label}))
            else:
                out.append(Fact(f.at, f.event_id, user, "act", {"kind": label}))
    return out


# -- the pieces put together (what the projection stores, in one function) -----------------


@dataclass
class Composed:
    raw: int
    entries: list[Entry]
    badges: dict[str, str]
    parts: dict[str, list[Part]] = field(default_factory=dict)  # scope key → parts


def merge(parts: list[Part]) -> list[Entry]:
    """Shown ledger lines, oldest first, from the parts of every scope."""
    by_event: dict[tuple[datetime, str], list[Part]] = defaultdict(list)
    for p in parts:
        by_event[(p.at, p.source_event_id)].append(p)
    return [e for _k, ps in sorted(by_event.items()) if (e := show(ps)) is not None]


def compose(user: str, facts: list[Fact], removals: list[Removal]) -> Composed:
    """A user's state from the scopes, given all of their facts (the reference for tests)."""
    removed: dict[str, list[Removal]] = defaultdict(list)
    for r in removals:
        removed[r.post_id].append(r)
    pairs: dict[tuple[str, str], list[Fact]] = defaultdict(list)  # (author, pair) → votes
    for f in facts:
        if f.kind == "vote":
            pairs[(f.data["author_id"], pair_of(f))].append(f)
    groups: dict[tuple[str, date], dict[str, Fact]] = defaultdict(dict)
    for (author, _pair), votes in pairs.items():
        if author != user and not any(f.data["voter_id"] == user for f in votes):
            continue
        for day in {utc_day(f.at) for f in votes}:
            groups[(author, day)].update({f.event_id: f for f in votes})
    out: dict[str, list[Part]] = {}
    for (author, day), votes_by_id in sorted(groups.items()):
        votes = list(votes_by_id.values())
        rms = [r for t in {f.data["target_id"] for f in votes} for r in removed.get(t, [])]
        out[f"{author}|{day}"] = derive_day(author, day, votes, rms).get(user, [])
    points: dict[tuple[str, date], list[Fact]] = defaultdict(list)
    kept = []
    for f in facts:
        if in_profile(f):
            kept.append(f)
        if (label := activity_label(f)) is not None:
            points[(label, utc_day(f.at))].append(f)
    refs = {f.data["answer_post_id"] for f in kept if f.kind == "accept"}
    profile = derive_profile(
        user,
        kept + activity_facts(user, points),
        [r for p in refs for r in removed.get(p, [])],
    )
    out["profile"] = profile.parts
    every = [p for ps in out.values() for p in ps]
    raw = sum(p.delta for p in every)
    return Composed(raw, merge(every), profile.badges, out)
