"""User documents: the profile scope, the credits of every scope, totals, outbox.

One compare-and-set update per touched user (filter pins ``v``) merges the batch's profile
facts and activity points, re-folds the profile alone when they changed
(``domain.scopes.derive_profile``), takes every scope's newer credit (a credit carries its
scope's version, so an older one never replaces a newer one), recomputes reputation, level,
badges and the period sums, and records the outgoing events in the same document's outbox
(communitykit.outbox: relayed to ``reputation.events`` later). Event ids are derived from
what changed and the versions, so a replayed batch republishes the same ids.

The update ``$set``s only the fields that changed (activity points and credits key by key):
an active user's profile facts are not sent back to the store with every batch.

As for day documents (``days.py``), ``pend`` (the profile's ledger parts still to write) is
not cleared by a write of its own: the process remembers the versions whose ``pend`` it
finished, and the user's next compare-and-set update drops it. A ``pend`` another replica
finished is carried and written once more, which the ledger's version guards make harmless.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pymongo import InsertOne, UpdateOne

from communitykit.outbox import outbox_fields, outbox_ops
from schemas import Envelope, new_event, topics
from schemas.reputation import BadgeAwarded, LevelChanged, ReputationChanged

from ..adapters.mongo import Doc, ReputationDb
from ..domain import rules
from ..domain.scopes import activity_facts, derive_profile
from .codec import (
    Ref,
    at_key,
    at_of,
    pack,
    packed,
    part_row,
    point_fact,
    profile_fact,
    profile_ref,
    removal_of_row,
    removal_ref,
    unpack,
    unpacked,
)
from .days import Push
from .writes import Finished, Op, cas, credit_of, ledger_op, new_token, scope_field, write

EVENT_NS = uuid.UUID("6f1c3f2e-8c1b-4a53-9d0e-4c6e2b7a9f10")
MAX_ROUNDS = 20
#: fields set key by key (``field.key``): their keys hold no dots
KEYED_FIELDS = ("act", "cr")


@dataclass
class ProfileFacts:
    """What a batch adds to one user's profile."""

    pf: dict[str, list[Any]] = field(default_factory=dict)  # event id → profile row
    points: dict[str, list[str]] = field(default_factory=dict)  # "label|day" → points
    prm: dict[str, list[Any]] = field(default_factory=dict)  # event id → removal row


def _refs(
    events: Iterable[str], pf: dict[str, list[Any]], prm: dict[str, list[Any]]
) -> dict[str, Ref]:
    """The thread/post/idea of each pending ledger line's event (from its profile fact or
    removal; activity points have none)."""
    out = {}
    for e in events:
        if e in pf:
            out[e] = profile_ref(pf[e])
        elif e in prm:
            out[e] = removal_ref(prm[e])
    return out


def _changed(doc: Doc, fields: dict[str, Any]) -> dict[str, Any]:
    """The ``$set`` of the fields that differ from the stored document (``KEYED_FIELDS``
    key by key, unless the stored value is missing or lost keys)."""
    out: dict[str, Any] = {}
    for name, value in fields.items():
        old = doc.get(name)
        if old == value:
            continue
        if name in KEYED_FIELDS and isinstance(old, dict) and old.keys() <= value.keys():
            out.update({f"{name}.{k}": x for k, x in value.items() if old.get(k) != x})
        else:
            out[name] = value
    return out


class Users:
    def __init__(self, db: ReputationDb, *, publish: bool) -> None:
        self.db = db
        self.publish = publish
        self._finished = Finished()  # user → version whose pend was written

    async def apply(
        self, adds: dict[str, ProfileFacts], pushes: dict[str, dict[str, Push]]
    ) -> None:
        #: user → (version, pending ledger parts, event id → its thread/post/idea)
        done: dict[str, tuple[int, list[Any], dict[str, Ref]]] = {}
        todo = sorted(set(adds) | set(pushes))
        for _ in range(MAX_ROUNDS):
            if not todo:
                break
            # the outbox (what the relay has yet to publish) plays no part in the derivation
            found = self.db.users.find({"_id": {"$in": todo}}, {"outbox": 0})
            docs = {d["_id"]: d async for d in found}
            token, ops, staged = new_token(), {}, {}
            for uid in todo:
                step = self._derive(uid, adds.get(uid), pushes.get(uid, {}), docs.get(uid), token)
                if step is None:
                    continue
                op, result = step
                if op is None:
                    done[uid] = result
                else:
                    ops[uid], staged[uid] = op, result
            won = await cas(self.db.users, ops, token)
            done.update({uid: staged[uid] for uid in won})
            todo = [uid for uid in ops if uid not in won]
        if todo:
            raise RuntimeError(f"user documents kept changing under us: {todo[:5]}")
        # the profile's ledger parts; the next update of each user drops what was pending
        pending = {uid: r for uid, r in done.items() if r[1]}
        await write(
            self.db.ledger,
            [
                ledger_op(uid, e, "p", n, row, refs.get(e))
                for uid, (_v, pend, refs) in pending.items()
                for e, row, n in pend
            ],
        )
        self._finished.add((uid, v) for uid, (v, _p, _r) in pending.items())

    def _derive(
        self,
        uid: str,
        add: ProfileFacts | None,
        pushes: dict[str, Push],
        doc: Doc | None,
        token: str,
    ) -> tuple[Op | None, tuple[int, list[Any], dict[str, Ref]]] | None:
        doc = doc or {}
        v_old = int(doc.get("v", 0))
        v = v_old + 1
        pend = {e: (row, n) for e, row, n in map(unpack, doc.get("pend", []))}
        if doc and self._finished.has(uid, v_old):
            pend = {}  # this process finished it: drop it with this write
        stored = unpacked(doc.get("pf", [])), dict(doc.get("act", {})), unpacked(doc.get("prm", []))
        pf, act, prm = dict(stored[0]), dict(stored[1]), dict(stored[2])
        if add:
            pf.update({e: r for e, r in add.pf.items() if e not in pf})
            prm.update({e: r for e, r in add.prm.items() if e not in prm})
            for key, points in add.points.items():
                now = sorted({*points, *act.get(key, [])})
                act[key] = [now[0], now[-1]]
        profile_changed = (pf, act, prm) != stored
        cr = dict(doc.get("cr", {}))
        changes: list[tuple[str, str, int, str, list[Any] | None, int]] = []
        for scope, push in pushes.items():
            f = scope_field(scope)
            if f not in cr or cr[f]["n"] < push.n:
                cr[f] = {"n": push.n, "c": push.credit, "l": push.last}
                changes += [(scope, e, d, r, row, push.n) for e, d, r, row in push.changes]
        badges = dict(doc.get("badge_events", {}))
        times = dict(doc.get("badge_times", {}))
        pout = [unpack(x) for x in doc.get("pout", [])]
        if profile_changed:
            pout, badges, times = self._profile(uid, pf, act, prm, pout, v, pend, changes, cr)
        if not profile_changed and not changes:  # a redelivery: finish what a crash left
            if not pend:
                return None
            rows = [[e, r, n] for e, (r, n) in sorted(pend.items())]
            return None, (v_old, rows, _refs(pend, pf, prm))
        fields = self._totals(cr)
        fields.update(
            v=v,
            tok=token,
            pf=packed(pf),
            act=act,
            prm=packed(prm),
            pout=[pack(x) for x in pout],
            cr=cr,
            badges=sorted(badges),
            badge_events=badges,
            badge_times=times,
            pend=[pack([e, r, n]) for e, (r, n) in sorted(pend.items())],
        )
        events = self._events(uid, doc, fields, changes, v) if self.publish else []
        op: Op
        if not doc:
            op = InsertOne(
                {"_id": uid, **fields, **outbox_fields(topics.REPUTATION_EVENTS, events)}
            )
        else:
            update = outbox_ops(topics.REPUTATION_EVENTS, events, {"$set": _changed(doc, fields)})
            op = UpdateOne({"_id": uid, "v": v_old}, update)
        return op, (v, [unpack(x) for x in fields["pend"]], _refs(pend, pf, prm))

    def _profile(
        self,
        uid: str,
        pf: dict[str, list[Any]],
        act: dict[str, list[str]],
        prm: dict[str, list[Any]],
        pout: list[Any],
        v: int,
        pend: dict[str, tuple[list[Any] | None, int]],
        changes: list[tuple[str, str, int, str, list[Any] | None, int]],
        cr: dict[str, Any],
    ) -> tuple[list[Any], dict[str, str], dict[str, str]]:
        """Re-fold the profile scope; note its changed ledger parts and its credit."""
        facts = [profile_fact(uid, e, row) for e, row in pf.items()]
        points = {
            (key.split("|")[0], date.fromisoformat(key.split("|")[1])): [
                point_fact(uid, p) for p in pts
            ]
            for key, pts in act.items()
        }
        facts += activity_facts(uid, points)
        removals = [removal_of_row(e, row) for e, row in prm.items()]
        prof = derive_profile(uid, facts, removals)
        new_out: list[list[Any]] = sorted([p.source_event_id, part_row(p)] for p in prof.parts)
        old: dict[str, list[Any]] = {e: r for e, r in pout}
        new: dict[str, list[Any]] = {e: r for e, r in new_out}
        for e in old.keys() | new.keys():
            if old.get(e) != new.get(e):
                pend[e] = (new.get(e), v)
                was = old.get(e)
                changes.append(("p", e, was[0] if was else 0, was[1] if was else "", new.get(e), v))
        credit, last = credit_of([r for _e, r in new_out])
        cr["p"] = {"n": v, "c": credit, "l": last}
        badges = dict(sorted(prof.badges.items()))
        times = {b: at_key(t) for b, t in sorted(prof.badge_times.items())}
        return new_out, badges, times

    @staticmethod
    def _totals(cr: dict[str, Any]) -> dict[str, Any]:
        days: dict[str, int] = {}
        for c in cr.values():
            for day, pts in c["c"].items():
                days[day] = days.get(day, 0) + pts
        raw = sum(days.values())
        reputation = max(rules.FLOOR, rules.START + raw)
        last = max((c["l"] for c in cr.values() if c["l"]), default=None)
        out: dict[str, Any] = {
            "raw": raw,
            "reputation": reputation,
            "level": rules.level_for(reputation),
            "updated_at": at_of(last) if last else None,
        }
        for name, key_of in (("pm", rules.month_key), ("pw", rules.week_key)):
            keyed = {d: key_of(date.fromisoformat(d)) for d in days}
            latest = keyed[max(days)] if days else None
            pts = sum(p for d, p in days.items() if keyed[d] == latest)
            out[name] = {"k": latest, "pts": pts}
        return out

    def _events(
        self,
        uid: str,
        doc: Doc,
        fields: dict[str, Any],
        changes: list[tuple[str, str, int, str, list[Any] | None, int]],
        v: int,
    ) -> list[Envelope[Any]]:
        """What changed, as reputation.events, with ids derived from the change itself."""
        out: list[Envelope[Any]] = []

        def ev(data: Any, key: str, at: Any = None) -> None:
            eid = str(uuid.uuid5(EVENT_NS, f"{uid}:{key}"))
            out.append(new_event(data, subject=uid, event_id=eid, time=at))

        total = fields["reputation"]
        for scope, e, old_delta, old_reason, row, n in changes:
            delta = (row[0] if row else 0) - old_delta
            if delta:
                reason = row[1] if row else old_reason
                ev(
                    ReputationChanged(
                        user_id=uid, delta=delta, total=total, reason=reason, source_event_id=e
                    ),
                    f"rc:{e}:{scope}:{n}",
                )
        old_level, level = int(doc.get("level", 0)), fields["level"]
        if level != old_level:
            ev(
                LevelChanged(user_id=uid, from_level=old_level, to_level=level),
                f"lc:{old_level}:{level}:{v}",
            )
        for badge, source in fields["badge_events"].items():
            if badge not in doc.get("badge_events", {}):
                ev(
                    BadgeAwarded(user_id=uid, badge=badge, source_event_id=source or "unknown"),
                    f"ba:{badge}",
                    at_of(fields["badge_times"][badge]) if badge in fields["badge_times"] else None,
                )
        return out
