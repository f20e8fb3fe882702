"""The ``Giveaway`` aggregate: one document per giveaway holds its secret seed, its entrants
and its recorded draws, so that an entry and the close are ordered by the same guarded
update (no entry can slip in after the entrant list is fixed and hashed).

The fairness argument (verify.py has the algorithm): the seed is drawn at creation and only
its SHA-256 is published (GiveawayOpened); the entrant list is fixed and hashed at close
(GiveawayClosed) before the seed is revealed (GiveawayDrawn); the winners are a deterministic
function of both, which anyone recomputes with ``python -m gatherings.verify``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from communitykit.auth import Principal
from schemas import Envelope, new_event
from schemas.gatherings import GiveawayClosed, GiveawayDrawn, GiveawayEntered, GiveawayOpened

from .. import verify
from .commands import OpenGiveaway, as_utc
from .errors import GiveawayStateError, InvalidCommandError, NotAllowedError, NotEligibleError
from .gathering import Gathering, member_key

Event = Envelope[Any]
Doc = dict[str, Any]


def new_seed() -> str:
    """256 bits from the OS's CSPRNG, as 64 hex characters."""
    return secrets.token_hex(32)


@dataclass
class Giveaway:
    giveaway_id: str
    gathering_id: str
    prize: str
    winners: int
    closes_at: datetime
    seed: str
    seed_commitment: str
    opened_by: str
    created_at: datetime
    min_level: int = 0
    rsvp_required: bool = False
    checked_in_required: bool = False
    exclude_roles: list[str] = field(default_factory=list)
    #: member key → user id
    entrants: dict[str, str] = field(default_factory=dict)
    closed_at: datetime | None = None
    entrants_hash: str | None = None
    #: recorded draws: {round, winners, replaced, entrants_hash, drawn_by, at}
    draws: list[Doc] = field(default_factory=list)

    @classmethod
    def open(
        cls,
        cmd: OpenGiveaway,
        gathering: Gathering,
        by: Principal,
        now: datetime,
        giveaway_id: str,
        seed: str,
    ) -> tuple[Giveaway, list[Event]]:
        """POST /gatherings/{id}/giveaways (staff) → GiveawayOpened with the seed's
        commitment (the seed itself stays secret until the draw)."""
        if not by.has("staff"):
            raise NotAllowedError("only staff open giveaways")
        if gathering.status == "cancelled":
            raise GiveawayStateError("the gathering is cancelled")
        closes = as_utc(cmd.closes_at)
        if closes <= now:
            raise InvalidCommandError("closes_at must be in the future", field="closes_at")
        e = cmd.eligibility
        g = cls(
            giveaway_id=giveaway_id,
            gathering_id=gathering.gathering_id,
            prize=cmd.prize,
            winners=cmd.winners,
            closes_at=closes,
            seed=seed,
            seed_commitment=verify.seed_commitment(seed),
            opened_by=by.user_id,
            created_at=now,
            min_level=e.min_level,
            rsvp_required=e.rsvp_required,
            checked_in_required=e.checked_in_required,
            exclude_roles=sorted(set(e.exclude_roles)),
        )
        return g, [
            g._event(
                GiveawayOpened(
                    gathering_id=g.gathering_id,
                    giveaway_id=g.giveaway_id,
                    opened_by=by.user_id,
                    prize=g.prize,
                    winners=g.winners,
                    closes_at=g.closes_at,
                    seed_commitment=g.seed_commitment,
                    min_level=g.min_level,
                    rsvp_required=g.rsvp_required,
                    checked_in_required=g.checked_in_required,
                    exclude_roles=g.exclude_roles,
                ),
                now,
                by.user_id,
            )
        ]

    def _event(self, data: Any, now: datetime, actor: str | None) -> Event:
        return new_event(data, subject=self.gathering_id, actor_id=actor, time=now)

    # ------------------------------------------------------------------ reads
    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None

    def entrant_ids(self) -> list[str]:
        return sorted(self.entrants.values())

    def current_winners(self) -> list[str]:
        current: list[str] = []
        for d in self.draws:
            current = [w for w in current if w not in d["replaced"]] + list(d["winners"])
        return current

    def proof(self) -> Doc:
        """Everything a verifier needs; the seed and winners only after the draw."""
        drawn = bool(self.draws)
        return {
            "giveaway_id": self.giveaway_id,
            "gathering_id": self.gathering_id,
            "algorithm": verify.ALGORITHM,
            "seed_commitment": self.seed_commitment,
            "seed": self.seed if drawn else None,
            "winner_count": self.winners,
            "entrants": self.entrant_ids() if self.is_closed else None,
            "entrants_hash": self.entrants_hash,
            "draws": [
                {k: d[k] for k in ("round", "entrants_hash", "winners", "replaced")}
                for d in self.draws
            ],
            "winners": self.current_winners() if drawn else None,
        }

    # ------------------------------------------------------------------ commands
    def check_eligible(
        self, user: Principal, level: int, rsvp_status: str, checked_in: bool
    ) -> None:
        """403 saying why a member may not enter (facts read just before the entry)."""
        excluded = sorted(set(self.exclude_roles) & user.roles)
        if excluded:
            raise NotEligibleError(f"members with the role {excluded[0]!r} cannot enter")
        if level < self.min_level:
            raise NotEligibleError(
                f"this giveaway needs trust level {self.min_level}; you are at level {level}"
            )
        if self.rsvp_required and rsvp_status != "going":
            raise NotEligibleError("this giveaway is for members going to the gathering")
        if self.checked_in_required and not checked_in:
            raise NotEligibleError("this giveaway is for members who checked in")

    def enter(self, user_id: str, now: datetime) -> list[Event]:
        """PUT .../giveaways/{gid}/entry → GiveawayEntered (a second entry changes nothing)."""
        if self.is_closed or now >= self.closes_at:
            raise GiveawayStateError(f"entries closed at {self.closes_at.isoformat()}")
        key = member_key(user_id)
        if key in self.entrants:
            return []
        self.entrants[key] = user_id
        return [
            self._event(
                GiveawayEntered(
                    gathering_id=self.gathering_id, giveaway_id=self.giveaway_id, user_id=user_id
                ),
                now,
                user_id,
            )
        ]

    def close(self, now: datetime) -> list[Event]:
        """Fix the entrant list at ``closes_at`` → GiveawayClosed (a system event; the
        sweeper or the draw, whichever comes first)."""
        if self.is_closed or now < self.closes_at:
            return []
        self.closed_at = now
        self.entrants_hash = verify.entrants_hash(self.entrant_ids())
        return [
            self._event(
                GiveawayClosed(
                    gathering_id=self.gathering_id,
                    giveaway_id=self.giveaway_id,
                    entrants_hash=self.entrants_hash,
                    entrant_count=len(self.entrants),
                ),
                now,
                None,
            )
        ]

    def draw(self, by: Principal, now: datetime) -> list[Event]:
        """POST .../draw (staff) after ``closes_at`` → [GiveawayClosed] + GiveawayDrawn
        (round 1, the seed revealed)."""
        if not by.has("staff"):
            raise NotAllowedError("only staff draw giveaways")
        if now < self.closes_at:
            raise GiveawayStateError(
                f"the giveaway closes at {self.closes_at.isoformat()}; draw after that"
            )
        if self.draws:
            raise GiveawayStateError("already drawn; a winner who does not claim is re-drawn")
        events = self.close(now)
        pool = self.entrant_ids()
        return [*events, self._record_draw(pool, self.winners, [], by.user_id, now)]

    def redraw(self, by: Principal, unclaimed: list[str], now: datetime) -> list[Event]:
        """POST .../redraw (staff) {unclaimed} → a new recorded GiveawayDrawn round over the
        entrants never drawn before, replacing the unclaimed winners."""
        if not by.has("staff"):
            raise NotAllowedError("only staff draw giveaways")
        if not self.draws:
            raise GiveawayStateError("not drawn yet")
        current = self.current_winners()
        unknown = [u for u in unclaimed if u not in current]
        if unknown:
            raise InvalidCommandError(f"{unknown[0]!r} is not a current winner", field="unclaimed")
        replaced = sorted(set(unclaimed))
        drawn_before = {w for d in self.draws for w in d["winners"]}
        pool = [e for e in self.entrant_ids() if e not in drawn_before]
        if not pool:
            raise GiveawayStateError("every entrant has been drawn already")
        return [self._record_draw(pool, len(replaced), replaced, by.user_id, now)]

    def _record_draw(
        self, pool: list[str], k: int, replaced: list[str], by: str, now: datetime
    ) -> Event:
        round_no = len(self.draws) + 1
        pool_hash = verify.entrants_hash(pool)
        winners = verify.draw(self.seed, pool, k, round_no)
        self.draws.append(
            {
                "round": round_no,
                "winners": winners,
                "replaced": replaced,
                "entrants_hash": pool_hash,
                "drawn_by": by,
                "at": now,
            }
        )
        return self._event(
            GiveawayDrawn(
                gathering_id=self.gathering_id,
                giveaway_id=self.giveaway_id,
                round=round_no,
                drawn_by=by,
                seed=self.seed,
                seed_commitment=self.seed_commitment,
                entrants_hash=pool_hash,
                winners=winners,
                replaced=replaced,
                algorithm=verify.ALGORITHM,
            ),
            now,
            by,
        )
