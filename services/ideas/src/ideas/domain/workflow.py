"""The status state machine of an idea (SPEC 3), defined once.

```
            ┌──────────────► declined ──────────────┐ (reconsidered)
            │                  ▲   ▲                 ▼
  new ──► under_review ──► planned ──► in_progress ──► completed
   │                         ▲  │          │
   └─────────────────────────┘  └─► under_review (re-scoped)
                                 in_progress ──► planned (paused)
```

* ``new``          → ``under_review``, ``planned``, ``declined``
* ``under_review`` → ``planned``, ``declined``
* ``planned``      → ``in_progress``, ``under_review``, ``declined``
* ``in_progress``  → ``completed``, ``planned``, ``declined``
* ``completed``    → nothing (terminal: it shipped)
* ``declined``     → ``under_review`` (reconsidered)

Only ``staff`` move ideas. Staying in the same status is not a move (409). A merged idea is
frozen. Reputation pays ``planned`` and ``completed`` once per idea, however often an idea
passes through them.
"""

from __future__ import annotations

from typing import Final

STATUSES: Final = ("new", "under_review", "planned", "in_progress", "completed", "declined")
INITIAL: Final = "new"

TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    "new": frozenset({"under_review", "planned", "declined"}),
    "under_review": frozenset({"planned", "declined"}),
    "planned": frozenset({"in_progress", "under_review", "declined"}),
    "in_progress": frozenset({"completed", "planned", "declined"}),
    "completed": frozenset(),
    "declined": frozenset({"under_review"}),
}


def allowed(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, frozenset())
