"""The demo's plan: who does what, in which order, decided up front from the seed alone.

A plan is a list of :class:`Step`. Each step is one user's action (one to three HTTP
requests). Steps refer to what earlier steps create by *plan references* (``q12`` is the
twelfth question the plan asks), never by server ids: the executor maps a reference to the
id the server returned once the creating step has run. So the same ``--seed`` gives the
same sequence of users, actions, texts and targets on every run; only the server-side ids
and the timing differ.

Users (power law, SPEC's community): a few champions do most of the answering, a long tail
of lurkers mostly reads, searches and votes; a support team (role ``support``) answers the
escalated questions; one staff user (role ``staff``) moves ideas through their workflow.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

FIRST = (
    "ada",
    "alan",
    "amir",
    "ana",
    "ben",
    "chen",
    "dana",
    "eli",
    "emma",
    "farah",
    "gil",
    "hana",
    "ivan",
    "jade",
    "kai",
    "lea",
    "liam",
    "mara",
    "nia",
    "omar",
    "priya",
    "quinn",
    "rosa",
    "sam",
    "tara",
    "uma",
    "vik",
    "wen",
    "xia",
    "yuri",
    "zoe",
)
PRODUCTS = ("router-x2", "mesh-pro", "cam-mini", "hub-one", "plug-s", "thermo-3")
TOPICS = (
    ("reset", "the admin password"),
    ("update", "the firmware"),
    ("pair", "a second device"),
    ("fix", "the wifi dropping at night"),
    ("export", "the activity log"),
    ("share", "access with my family"),
    ("change", "the default dns"),
    ("stop", "the status light blinking"),
    ("set up", "guest access"),
    ("restore", "a backup"),
    ("schedule", "automatic restarts"),
    ("connect", "to a vpn"),
)
IDEAS = (
    ("Dark mode for the mobile app", "app", "ui"),
    ("Export reports as CSV", "reports", "analytics"),
    ("Scheduled firmware updates", "firmware", "devices"),
    ("Family sharing with roles", "accounts", "access"),
    ("Offline mode for the dashboard", "app", "ui"),
    ("Webhooks for device events", "integrations", "api"),
    ("Per-device bandwidth limits", "network", "devices"),
    ("Two-factor login with passkeys", "security", "accounts"),
)
#: the ideas workflow (ideas/domain/workflow.py), the forward moves staff make in the demo
#: what a review says, by its stars (listening scores it: product sentiment follows ratings)
REVIEW_TEXT = {
    5: "Excellent, works perfectly and I love it. Highly recommended!",
    4: "Good product, easy to set up and reliable so far.",
    3: "It is okay. Does the job, nothing special.",
    2: "Disappointing: it drops out often and support was not helpful.",
    1: "Terrible. It broke after a week and I regret buying it.",
}
NEXT_STATUS = {
    "new": ("under_review", "planned"),
    "under_review": ("planned", "declined"),
    "planned": ("in_progress",),
    "in_progress": ("completed",),
}
#: action weights per step (reads dominate, as in any community)
MIX = {
    "browse": 14,
    "search": 8,
    "ask": 10,
    "discuss": 2,
    "answer": 18,
    "vote": 20,
    "accept": 5,
    "review": 4,
    "escalate": 2,
    "support": 4,
    "idea": 3,
    "idea_vote": 8,
    "idea_status": 2,
    "leaderboard": 2,
}


@dataclass
class User:
    name: str
    roles: tuple[str, ...] = ("member",)
    weight: float = 1.0
    kind: str = "member"  # champion | member | lurker | support | staff


@dataclass
class Step:
    """One user's action. ``creates``: the reference the step's result is known by;
    ``needs``: references it resolves before it runs (created by earlier steps)."""

    index: int
    user: str
    action: str
    args: dict[str, Any] = field(default_factory=dict)
    creates: str | None = None
    needs: tuple[str, ...] = ()


@dataclass
class _Question:
    ref: str
    author: str
    title: str
    replies: list[tuple[str, str]] = field(default_factory=list)  # (ref, author)
    accepted: bool = False
    escalated: bool = False
    support_replied: bool = False


@dataclass
class _Idea:
    ref: str
    author: str
    status: str = "new"
    voters: set[str] = field(default_factory=set)


def community(n_members: int, prefix: str) -> list[User]:
    """``n_members`` members ranked by a Zipf-like activity weight (a few champions, a long
    tail of lurkers), three support agents and one staff user."""
    users = []
    for i in range(n_members):
        name = f"{prefix}{FIRST[i % len(FIRST)]}{i // len(FIRST) or ''}"
        weight = 1 / (i + 1) ** 1.1
        kind = "champion" if i < max(2, n_members // 40) else "member"
        if i >= n_members // 4:
            kind = "lurker"
        users.append(User(name, ("member",), weight, kind))
    for n in ("anna", "ben", "chloe"):
        users.append(User(f"{prefix}support-{n}", ("member", "support"), 0.0, "support"))
    users.append(User(f"{prefix}staff-dana", ("member", "staff"), 0.0, "staff"))
    return users


def make_plan(seed: int, steps: int, users: list[User]) -> list[Step]:
    return list(iter_plan(seed, steps, users))


def iter_plan(seed: int, steps: int, users: list[User]) -> Iterator[Step]:
    """The plan's steps one by one (a million-step plan need not be held in memory)."""
    rng = random.Random(seed)
    members = [u for u in users if u.kind in ("champion", "member", "lurker")]
    writers = [u.name for u in members]
    # cumulative once (random.choices would sum the weights on every call)
    weights = list(itertools.accumulate(u.weight for u in members))
    champions = [u.name for u in members if u.kind == "champion"]
    support = [u.name for u in users if u.kind == "support"]
    staff = next(u.name for u in users if u.kind == "staff")
    everyone = [u.name for u in members]
    questions: list[_Question] = []
    posts: list[tuple[str, str]] = []  # (post ref, author) that can be voted on
    ideas: list[_Idea] = []
    counters: dict[str, int] = {}
    reviewed: set[tuple[str, str]] = set()  # (user, product): one review each (SPEC 3)
    made = 0
    actions, action_weights = list(MIX), list(MIX.values())

    def ref(kind: str) -> str:
        counters[kind] = counters.get(kind, 0) + 1
        return f"{kind}{counters[kind]}"

    def writer() -> str:
        return rng.choices(writers, cum_weights=weights)[0]

    def title() -> tuple[str, str]:
        verb, obj = rng.choice(TOPICS)
        product = rng.choice(PRODUCTS)
        return f"How do I {verb} {obj} on the {product}?", product

    while made < steps:
        i = made
        action = rng.choices(actions, action_weights)[0]
        if action == "browse":
            who = rng.choice(everyone)
            target = rng.choice(questions).ref if questions and rng.random() < 0.6 else None
            sort = rng.choice(("new", "active", "top"))
            made += 1
            yield Step(i, who, "browse", {"sort": sort, "thread": target},
                             needs=(target,) if target else ())  # fmt: skip
        elif action == "search":
            verb, obj = rng.choice(TOPICS)
            made += 1
            yield Step(i, rng.choice(everyone), "search", {"q": f"{verb} {obj}"})
        elif action in ("ask", "discuss", "review"):
            who = writer()
            t, product = title()
            if action == "review":
                # a member reviews a product once; one who reviewed them all discusses instead
                left = [p for p in PRODUCTS if (who, p) not in reviewed]
                if left:
                    product = rng.choice(left)
                    reviewed.add((who, product))
                else:
                    action = "discuss"
            r = ref("q" if action == "ask" else "t")
            args: dict[str, Any] = {
                "title": t,
                "body": f"{t} I tried the manual and the settings page. ({r})",
                "tags": sorted({product, rng.choice(("setup", "network", "account", "app"))}),
                "deflect": rng.random() < 0.2,  # read a solved match instead, if one exists
            }
            if action == "discuss":
                args |= {"kind": "discussion", "title": f"Tips: {t[9:-1]}", "deflect": False}
            elif action == "review":
                rating = rng.choices((5, 4, 3, 2, 1), (40, 30, 15, 10, 5))[0]
                args |= {"kind": "review", "title": f"{product}: {rating} stars",
                         "body": f"{REVIEW_TEXT[rating]} ({r})",
                         "product_id": product, "rating": rating, "deflect": False}  # fmt: skip
            else:
                args["kind"] = "question"
            made += 1
            yield Step(i, who, "thread", args, creates=r)
            posts.append((f"{r}.post", who))
            if action == "ask":
                questions.append(_Question(r, who, t))
        elif action == "answer" and questions:
            q = rng.choice(questions[-30:])
            # champions answer most; anyone else sometimes
            who = rng.choice(champions) if rng.random() < 0.6 else writer()
            if who == q.author:
                continue
            r = ref("r")
            body = f"Open Settings, then {rng.choice(TOPICS)[0]} it from the advanced tab. ({r})"
            made += 1
            yield Step(i, who, "reply", {"body": body}, creates=r, needs=(q.ref,))
            q.replies.append((r, who))
            posts.append((r, who))
        elif action == "vote" and posts:
            post, author = rng.choice(posts[-60:])
            who = (
                rng.choices(writers, cum_weights=weights)[0]
                if rng.random() < 0.5
                else rng.choice(everyone)
            )
            if who == author:
                continue
            value = 1 if rng.random() < 0.93 else 0
            made += 1
            yield Step(i, who, "vote", {"value": value}, needs=(post,))
        elif action == "accept":
            open_qs = [q for q in questions[-40:] if not q.accepted and q.replies]
            if not open_qs:
                continue
            q = rng.choice(open_qs)
            answer, _ = rng.choice(q.replies)
            q.accepted = True
            made += 1
            yield Step(i, q.author, "accept", {}, needs=(q.ref, answer))
        elif action == "escalate":
            cands = [q for q in questions[-40:] if not q.accepted and not q.escalated]
            if not cands:
                continue
            q = rng.choice(cands)
            q.escalated = True
            made += 1
            yield Step(i, q.author, "escalate", {}, needs=(q.ref,))
        elif action == "support":
            cands = [q for q in questions[-200:] if q.escalated and not q.support_replied]
            if not cands:
                continue
            q = cands[0]
            q.support_replied = True
            r = ref("r")
            who = rng.choice(support)
            body = f"Support here: please update to the latest firmware and retry. ({r})"
            made += 1
            yield Step(i, who, "support", {"body": body}, creates=r, needs=(q.ref,))
            q.replies.append((r, who))
            posts.append((r, who))
        elif action == "idea":
            who = writer()
            t, category, area = rng.choice(IDEAS)
            r = ref("i")
            args = {"title": f"{t} ({r})", "description": f"{t}: it would save us time.",
                    "category": category, "product_area": area}  # fmt: skip
            made += 1
            yield Step(i, who, "idea", args, creates=r)
            ideas.append(_Idea(r, who))
        elif action == "idea_vote" and ideas:
            idea = rng.choice(ideas[-20:])
            who = (
                rng.choices(writers, cum_weights=weights)[0]
                if rng.random() < 0.4
                else rng.choice(everyone)
            )
            if who == idea.author or idea.status == "completed":
                continue
            value = 0 if who in idea.voters and rng.random() < 0.2 else 1
            (idea.voters.add if value else idea.voters.discard)(who)
            made += 1
            yield Step(i, who, "idea_vote", {"value": value}, needs=(idea.ref,))
        elif action == "idea_status":
            movable = [x for x in ideas[-50:] if x.status in NEXT_STATUS and len(x.voters) >= 2]
            if not movable:
                continue
            idea = max(movable, key=lambda x: len(x.voters))
            to = rng.choice(NEXT_STATUS[idea.status])
            idea.status = to
            made += 1
            yield Step(i, staff, "idea_status", {"status": to}, needs=(idea.ref,))
        elif action == "leaderboard":
            made += 1
            yield Step(i, rng.choice(everyone), "leaderboard", {})
