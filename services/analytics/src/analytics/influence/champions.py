"""Champions (SPEC 5): members ranked by breadth of activity, then by influence. Pure.

Breadth is how many of the ``champion`` badge's five activity kinds (SPEC 4: asked,
answered, voted on a post, submitted or voted an idea, reviewed or wrote an article) a
member did in the 30 days ending ``to``; ties are broken by the influence index (the
current generation, PageRank over who helped whom), then by the raw score, then by id.
Staff and support members are not candidates (the index leaves them out too).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from typing import Any

from ..domain.events import KINDS

#: activity kinds the badge needs (SPEC 4: "at least 4 of these 5")
BADGE_KINDS = 4


def breadth(day_users: Iterable[Mapping[str, Any]]) -> dict[str, tuple[set[str], str]]:
    """user → (activity kinds done, last day active) over ``day_users`` documents."""
    kinds: dict[str, set[str]] = defaultdict(set)
    last: dict[str, str] = {}
    for d in day_users:
        uid = d["user"]
        kinds[uid].update(k for k in d.get("k", ()) if k in KINDS)
        if d.get("n", 0) > 0 and d["day"] > last.get(uid, ""):
            last[uid] = d["day"]
    return {u: (ks, last.get(u, "")) for u, ks in kinds.items() if ks}


def ranked(
    day_users: Iterable[Mapping[str, Any]],
    influence: Mapping[str, Mapping[str, Any]],
    staff: AbstractSet[str],
    *,
    detail: bool = False,
    min_kinds: int = 1,
) -> list[dict[str, Any]]:
    """Candidates best first; ``influence`` maps a user to its member document (score,
    influence, helped_count); ``detail`` adds what staff need to reach out."""
    rows = []
    for uid, (ks, last) in breadth(day_users).items():
        if uid in staff or len(ks) < min_kinds:
            continue
        m = influence.get(uid, {})
        row: dict[str, Any] = {
            "user_id": uid,
            "activity_kinds": len(ks),
            "kinds": [k for k in KINDS if k in ks],
            "influence": float(m.get("influence", 0.0)),
            "score": float(m.get("score", 0.0)),
        }
        if detail:
            row.update(
                missing_kinds=[k for k in KINDS if k not in ks],
                badge_eligible=len(ks) >= BADGE_KINDS,
                helped_count=int(m.get("helped_count", 0)),
                influence_rank=m.get("rank"),
                last_active=last or None,
            )
        rows.append(row)
    rows.sort(key=lambda r: (-r["activity_kinds"], -r["influence"], -r["score"], r["user_id"]))
    return rows
