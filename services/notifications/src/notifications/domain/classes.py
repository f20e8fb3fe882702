"""What is worth telling: every kind of notification and its class (issue 25 item 2).

P0 transactional (always goes through), P1 direct, P2 followed activity, P3 suggestions.
A kind is also what a member unsubscribes from with the one-click link of an email.
"""

from __future__ import annotations

from enum import IntEnum


class Priority(IntEnum):
    P0 = 0
    P1 = 1
    P2 = 2
    P3 = 3

    @property
    def label(self) -> str:
        return f"P{int(self)}"


#: kind -> (class, human title of the kind)
KINDS: dict[str, tuple[Priority, str]] = {
    # P0: transactional
    "escalation_acknowledged": (Priority.P0, "Support is looking at your question"),
    "escalation_answered": (Priority.P0, "Support answered your question"),
    "giveaway_won": (Priority.P0, "You won a giveaway"),
    "post_hidden": (Priority.P0, "A post of yours was hidden"),
    "post_restored": (Priority.P0, "A post of yours was restored"),
    # P1: direct
    "reply": (Priority.P1, "Replies to your post"),
    "answer_accepted": (Priority.P1, "Your answer was accepted"),
    "mention": (Priority.P1, "You were mentioned"),
    "badge": (Priority.P1, "You earned a badge"),
    "level": (Priority.P1, "You reached a new level"),
    "seat_offered": (Priority.P1, "A seat opened up for you"),
    "emerging_issue": (Priority.P1, "Emerging issues (staff)"),
    # P2: followed activity
    "watched_post": (Priority.P2, "New posts in what you watch"),
    "idea_status": (Priority.P2, "Status changes of ideas you follow"),
    "idea_comment": (Priority.P2, "Comments on ideas you follow"),
    "gathering_reminder": (Priority.P2, "Gathering reminders"),
    "gathering_cancelled": (Priority.P2, "Cancelled gatherings"),
    # P3: suggestions
    "trending": (Priority.P3, "Trending in your groups"),
}
#: the digest itself is a kind one can unsubscribe from (it is not a notification)
DIGEST = "digest"
UNSUBSCRIBABLE = frozenset(KINDS) | {DIGEST}


def priority_of(kind: str) -> Priority:
    return KINDS[kind][0]


KINDS_WITH_DIGEST = {**KINDS, DIGEST: (Priority.P3, "Your digest")}


def describe(kind: str) -> str:
    return KINDS_WITH_DIGEST[kind][1]
