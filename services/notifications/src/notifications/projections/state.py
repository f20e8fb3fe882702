"""A member's consumer-side document (``members``): budget, open inbox groups, positions.

``pos`` holds, per source partition, the last offset applied to this member, written in the
same single-document update as the budget it changed: a redelivered event at or below it is
not decided again (no budget spent twice). ``decided`` keeps, per source partition, the
decisions of the last batch from it that touched this member (made or recalled): a redelivery
starts at a partition's last committed offset, so after a crash between this write and the
notification writes that follow it, the redelivery re-materialises exactly the same
notifications.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from ..domain.budget import BudgetState

#: held-back notifications shown by GET /me/notifications/budget
MAX_RECENT_HELD = 20


def group_key(group: str) -> str:
    """A group as a field name (MongoDB/FerretDB keys take no '.' and no leading '$')."""
    return hashlib.sha1(group.encode()).hexdigest()[:16]


def partition_key(topic: str, partition: int) -> str:
    return f"{topic.replace('.', '_')}:{partition}"


@dataclass
class MemberState:
    member: str
    version: int = 0
    budget: BudgetState = field(default_factory=BudgetState)
    #: group key -> {entry, count, group}
    open: dict[str, dict[str, Any]] = field(default_factory=dict)
    pos: dict[str, int] = field(default_factory=dict)
    #: partition -> {notification id: decision} of the last batch from that partition
    decided: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    recent_held: list[dict[str, Any]] = field(default_factory=list)
    #: the partitions whose decisions this batch replaced
    _fresh: set[str] = field(default_factory=set)
    #: ``decided`` as loaded (what a redelivered event recalls)
    _loaded: dict[str, dict[str, dict[str, Any]]] = field(init=False)

    def __post_init__(self) -> None:
        self._loaded = dict(self.decided)

    @classmethod
    def from_doc(cls, member: str, doc: dict[str, Any] | None) -> MemberState:
        if doc is None:
            return cls(member)
        return cls(
            member,
            int(doc.get("version", 0)),
            BudgetState.from_doc(doc.get("budget")),
            dict(doc.get("open", {})),
            dict(doc.get("pos", {})),
            dict(doc.get("decided", {})),
            list(doc.get("recent_held", [])),
        )

    def fields(self) -> dict[str, Any]:
        return {
            "budget": self.budget.to_doc(),
            "open": self.open,
            "pos": self.pos,
            "decided": self.decided,
            "recent_held": self.recent_held,
        }

    def remember(self, tp: str, nid: str, note: dict[str, Any]) -> None:
        """A decision of this batch, new or recalled: the memory of a partition is what its
        latest batch decided or recalled (a redelivery that recalls old decisions beside new
        ones keeps both, so a second crash before the notification writes loses neither)."""
        if tp not in self._fresh:  # the first decision of this batch from tp
            self._fresh.add(tp)
            self.decided[tp] = {}
        self.decided[tp][nid] = note

    def recall(self, tp: str, nid: str) -> dict[str, Any] | None:
        return self._loaded.get(tp, {}).get(nid)

    def held(self, item: dict[str, Any]) -> None:
        self.recent_held = [*self.recent_held, item][-MAX_RECENT_HELD:]
