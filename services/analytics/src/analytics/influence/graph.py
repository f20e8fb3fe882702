"""The influence index (SPEC 5, version 2): PageRank over who helped whom. Pure.

An **edge** points from the member who was helped to the member who helped, like the
asker → answerer graph of ExpertiseRank (Zhang, Ackerman, Adamic, WWW 2007): rank flows
to those who help members who are themselves helpful.

| fact | from → to | weight |
|---|---|---|
| a reply in a question thread | asker → replier | 0.5 |
| an up-vote on a post | voter → post author | 1 |
| an accepted answer | asker → answer author | 3 |
| an up-vote on an idea | voter → idea author | 1 |

Each fact's weight halves every ``half_life_days`` (90) of age, the age being whole UTC
days from the fact's day to the day the index is computed for (``as_of``): the stored
facts never change with time, so the same facts give the same index on the same day.
PageRank shares a member's rank among their out-edges in proportion to their weights,
so decaying every edge alike would change nothing; instead the part of a member's
out-weight that decayed away goes to a sink node whose rank is spread evenly over
everyone (like the teleport), so a fact passes on rank in proportion to its decayed
weight: help given long ago lends less influence than help given now.

**Not counted** (each reason is reported in the member's explanation):

* ``self``: a fact whose two ends are the same member (a reply in your own thread...);
* ``staff``: any fact with a staff or support member at either end (the company's
  people answering is their job, not community influence; the analytics learns who they
  are from the events, see ``domain/metrics.py``);
* ``removed``: a fact about a post that is deleted or hidden now (the reply itself, the
  votes on it, the accepted answer), or any fact of a thread whose question is;
* ``ring``: the votes between the two members of a **reciprocal vote ring**. Precisely:
  with v(A, B) the number of A's standing up-votes (posts and ideas, after the exclusions
  above) on B's content and V(A) all of A's standing up-votes, {A, B} is a ring when
  v(A, B) ≥ ``ring_min_votes`` and v(B, A) ≥ ``ring_min_votes`` and v(A, B) ≥
  ``ring_share`` · V(A) and v(B, A) ≥ ``ring_share`` · V(B): each gives the other at
  least half of all their votes (as many as to everyone else together) and at least 3.
  All votes between A and B, both ways, then count for nothing; replies and accepted
  answers between them still count. A pair that votes for each other a lot but votes
  for many others too is not a ring; a one-way fan is not a ring (PageRank already
  limits what one fan gives: a member's vote weight is shared by everyone they vote for).

**Score**: the PageRank (damping ``alpha`` 0.85, dangling members' rank spread evenly)
of the weighted graph of the counted edges, whose nodes are the members with at least
one counted edge, times the number of those members: 1.0 is the average member. Rounded
to 6 decimals, so that members in truly symmetric positions (whose PageRank differs only
by floating-point noise) tie, and no others. **Influence** is the percentile: 100 x
(members with a strictly lower score) / (members - 1), 4 decimals (a lone top member
100, the bottom 0, equal percentiles only for equal scores). A member outside the graph
has score 0 and influence 0.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import date

#: weight of one fact of each kind (SPEC 5)
WEIGHTS: Mapping[str, float] = {"reply": 0.5, "vote": 1.0, "accept": 3.0, "idea_vote": 1.0}
VOTES = frozenset({"vote", "idea_vote"})
#: why a fact did not count
REASONS = ("self", "staff", "removed", "ring")
#: decimals of the score (see module docstring: symmetric members tie, no others)
SCORE_DECIMALS = 6
PERCENTILE_DECIMALS = 4
#: how many of a member's helped members the explanation lists
EXPLAIN_TOP = 10


@dataclass(frozen=True)
class Rules:
    half_life_days: float = 90.0
    ring_min_votes: int = 3
    ring_share: float = 0.5
    alpha: float = 0.85


@dataclass(frozen=True)
class Fact:
    """One standing fact (a withdrawn vote or an unaccepted answer is not one)."""

    kind: str
    src: str  # the member who was helped (asker, voter)
    dst: str  # the member who helped (answerer, author)
    day: date
    post: str | None = None  # the post it is about (forum facts)
    thread: str | None = None


@dataclass
class Member:
    user_id: str
    score: float
    influence: float
    rank: int
    #: per kind: counted facts and their decayed weight (what counted)
    counted: dict[str, dict[str, float]] = field(default_factory=dict)
    #: per reason: facts about this member (as helper) that did not count
    excluded: dict[str, int] = field(default_factory=dict)
    #: members they helped, with the share of their score that came through each
    helped: list[dict[str, object]] = field(default_factory=list)
    helped_count: int = 0
    ring_partners: list[str] = field(default_factory=list)


@dataclass
class Index:
    as_of: date
    members: dict[str, Member]
    #: user ids, best first (score, then id)
    ranking: list[str]
    edges: int  # counted edges (member pairs) in the graph
    facts: int  # facts counted
    excluded: dict[str, int]  # facts not counted, by reason


def decay(day: date, as_of: date, half_life_days: float) -> float:
    age = max(0, (as_of - day).days)
    return float(0.5 ** (age / half_life_days))


def rings(facts: Iterable[Fact], rules: Rules) -> set[frozenset[str]]:
    """The reciprocal vote rings among ``facts`` (already cleared of the other exclusions)."""
    v: dict[tuple[str, str], int] = defaultdict(int)
    total: dict[str, int] = defaultdict(int)
    for f in facts:
        if f.kind in VOTES:
            v[(f.src, f.dst)] += 1
            total[f.src] += 1
    out = set()
    for (a, b), ab in v.items():
        if a >= b:
            continue  # each unordered pair once (from its smaller id)
        ba = v.get((b, a), 0)
        if (
            ab >= rules.ring_min_votes
            and ba >= rules.ring_min_votes
            and ab >= rules.ring_share * total[a]
            and ba >= rules.ring_share * total[b]
        ):
            out.add(frozenset((a, b)))
    return out


def _why_not(
    f: Fact,
    staff: AbstractSet[str],
    gone_posts: AbstractSet[str],
    gone_threads: AbstractSet[str],
) -> str | None:
    if f.src == f.dst:
        return "self"
    if f.src in staff or f.dst in staff:
        return "staff"
    if (f.post is not None and f.post in gone_posts) or (
        f.thread is not None and f.thread in gone_threads
    ):
        return "removed"
    return None


def compute(
    facts: Iterable[Fact],
    *,
    as_of: date,
    staff: AbstractSet[str] = frozenset(),
    gone_posts: AbstractSet[str] = frozenset(),
    gone_threads: AbstractSet[str] = frozenset(),
    rules: Rules = Rules(),
) -> Index:
    """The influence index of every member on ``as_of`` (see module docstring)."""
    excluded: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(REASONS, 0))
    totals = dict.fromkeys(REASONS, 0)
    kept: list[Fact] = []
    for f in facts:
        why = _why_not(f, staff, gone_posts, gone_threads)
        if why is None:
            kept.append(f)
        else:
            excluded[f.dst][why] += 1
            totals[why] += 1
    ring_pairs = rings(kept, rules)
    partners: dict[str, set[str]] = defaultdict(set)
    for pair in ring_pairs:
        a, b = sorted(pair)
        partners[a].add(b)
        partners[b].add(a)

    weight: dict[tuple[str, str], float] = defaultdict(float)
    raw_out: dict[str, float] = defaultdict(float)  # undecayed out-weight per member
    kinds: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    counted: dict[str, dict[str, dict[str, float]]] = defaultdict(dict)
    factor: dict[date, float] = {}  # decay per day (a year of facts: 365 values)
    n_counted = 0
    for f in kept:
        if f.kind in VOTES and f.dst in partners.get(f.src, ()):
            excluded[f.dst]["ring"] += 1
            totals["ring"] += 1
            continue
        d = factor.get(f.day)
        if d is None:
            d = factor[f.day] = decay(f.day, as_of, rules.half_life_days)
        w = WEIGHTS[f.kind] * d
        weight[(f.src, f.dst)] += w
        raw_out[f.src] += WEIGHTS[f.kind]
        kinds[(f.src, f.dst)][f.kind] += 1
        c = counted[f.dst].setdefault(f.kind, {"count": 0, "weight": 0.0})
        c["count"] += 1
        c["weight"] += w
        n_counted += 1

    scores = _pagerank(weight, raw_out, rules.alpha)
    ranking = sorted(scores, key=lambda u: (-scores[u], u))
    percentile = _percentiles(scores)
    helped_by: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for (src, dst), w in weight.items():
        helped_by[dst].append((src, w))
    members: dict[str, Member] = {}
    for rank, uid in enumerate(ranking, 1):
        rows = []
        for src, w in helped_by.get(uid, ()):
            # the part of this member's score that came through ``src`` (PageRank's own sum)
            share = rules.alpha * scores[src] * w / raw_out[src]
            rows.append(
                {
                    "user_id": src,
                    "contribution": round(share, SCORE_DECIMALS),
                    "weight": round(w, 4),
                    "kinds": dict(sorted(kinds[(src, uid)].items())),
                }
            )
        rows.sort(key=lambda r: (-float(r["contribution"]), str(r["user_id"])))  # type: ignore[arg-type]
        members[uid] = Member(
            user_id=uid,
            score=scores[uid],
            influence=percentile[uid],
            rank=rank,
            counted={
                k: {"count": int(c["count"]), "weight": round(c["weight"], 4)}
                for k, c in sorted(counted.get(uid, {}).items())
            },
            excluded={k: n for k, n in excluded.get(uid, {}).items() if n},
            helped=rows[:EXPLAIN_TOP],
            helped_count=len(rows),
            ring_partners=sorted(partners.get(uid, ())),
        )
    # members none of whose facts counted still get their exclusions explained
    for uid, ex in excluded.items():
        if uid not in members and any(ex.values()):
            members[uid] = Member(
                user_id=uid,
                score=0.0,
                influence=0.0,
                rank=0,
                excluded={k: n for k, n in ex.items() if n},
                ring_partners=sorted(partners.get(uid, ())),
            )
    return Index(
        as_of=as_of,
        members=members,
        ranking=ranking,
        edges=len(weight),
        facts=n_counted,
        excluded=totals,
    )


#: the node that receives the decayed-away part of every member's out-weight
SINK = "\x00decayed"


def _pagerank(
    weight: Mapping[tuple[str, str], float], raw_out: Mapping[str, float], alpha: float
) -> dict[str, float]:
    """Score per member: PageRank x number of members, rounded (see module docstring)."""
    if not weight:
        return {}
    import networkx as nx  # here: the service starts without loading networkx and scipy

    g = nx.DiGraph()
    # a fixed insertion order: the result does not depend on how the facts were read
    nodes = sorted({u for edge in weight for u in edge})
    g.add_nodes_from([*nodes, SINK])
    g.add_weighted_edges_from((s, d, w) for (s, d), w in sorted(weight.items()))
    decayed_out: dict[str, float] = defaultdict(float)
    for (s, _), w in weight.items():
        decayed_out[s] += w
    g.add_weighted_edges_from(
        (s, SINK, raw_out[s] - decayed_out[s])
        for s in sorted(decayed_out)
        if raw_out[s] - decayed_out[s] > 1e-12
    )
    # tol: networkx stops when the L1 change is below n * tol; this is far below the
    # rounding of the scores, so the rounding, not the iteration, decides ties
    pr = nx.pagerank(g, alpha=alpha, weight="weight", tol=1e-13, max_iter=2000)
    total = sum(pr[u] for u in nodes)
    n = len(nodes)
    return {u: round(pr[u] / total * n, SCORE_DECIMALS) for u in nodes}


def _percentiles(scores: Mapping[str, float]) -> dict[str, float]:
    """100 x (members with a strictly lower score) / (members - 1)."""
    n = len(scores)
    if n == 1:
        return dict.fromkeys(scores, 100.0)
    ordered = sorted(scores.values())
    below: dict[float, int] = {}
    for i, s in enumerate(ordered):
        below.setdefault(s, i)  # the first index of each score: how many are lower
    return {u: round(100 * below[s] / (n - 1), PERCENTILE_DECIMALS) for u, s in scores.items()}
