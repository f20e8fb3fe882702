"""User documents: totals from every scope's credit, badges from their candidates, outbox.

One compare-and-set update per touched user (filter pins ``v``) takes every scope's newer
credit (a credit carries its scope's version, so an older one never replaces a newer one),
merges the batch's activity points and reviews, recomputes reputation, level, badges and the
period sums, and records the outgoing events in the same document's outbox (communitykit.outbox:
relayed to ``reputation.events`` later). Event ids are derived from what changed and the
versions, so a replayed batch republishes the same ids.

Nothing here folds a member's history (issue 28): ledger parts come from the scopes (days,
threads, ideas); badges are the earliest of their candidates (``domain.profile``): activity
badges from the batch's points (the champion sweep reads only the 30 days around them), the
others from what the thread and idea scopes say in their credits.

The update ``$set``s only the fields that changed (activity points and credits key by key).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from pymongo import InsertOne, UpdateOne

from communitykit.outbox import outbox_fields, outbox_ops
from schemas import Envelope, new_event, topics
from schemas.reputation import BadgeAwarded, LevelChanged, ReputationChanged

from ..adapters.mongo import Doc, ReputationDb
from ..domain import rules
from ..domain.profile import Key, champion, earliest, problem_solver
from .codec import at_key, at_of, pack, unpack
from .days import Push
from .writes import Op, cas, new_token, scope_field

EVENT_NS = uuid.UUID("6f1c3f2e-8c1b-4a53-9d0e-4c6e2b7a9f10")
MAX_ROUNDS = 20
#: fields set key by key (``field.key``): their keys hold no dots
KEYED_FIELDS = ("activity", "credits")


@dataclass
class ProfileFacts:
    """What a batch adds to one user's activity."""

    points: dict[str, list[str]] = field(default_factory=dict)  # "label|day" → points
    reviews: list[str] = field(default_factory=list)  # review points ("at|event id")
    #: gathering → the member's first check-in there ("at|event id")
    attended: dict[str, str] = field(default_factory=dict)
    #: for a host: per gathering of theirs with enough check-ins, the check-in that made it
    host_candidates: list[str] = field(default_factory=list)


def host_candidates(gatherings: list[Doc]) -> list[tuple[str, str]]:
    """(host, candidate) per gathering with at least ``HOST_CHECKINS`` distinct members
    (not the host) checked in: the check-in ("at|event id") of the member who made it that
    many, counting each member at their first check-in. More check-ins can only make a
    candidate earlier, so the host's badge is the earliest candidate ever seen."""
    out = []
    for doc in gatherings:
        first: dict[str, str] = {}
        for at_event, member in map(unpack, doc.get("checkins", [])):
            if member != doc["host_id"]:
                first[member] = min(first.get(member, at_event), at_event)
        if len(first) >= rules.HOST_CHECKINS:
            out.append((doc["host_id"], sorted(first.values())[rules.HOST_CHECKINS - 1]))
    return out


def _attended(stored: list[str], new: dict[str, str]) -> list[str]:
    """The member's first check-in per gathering, only the ``ATTENDEE_GATHERINGS`` earliest
    gatherings kept (stored as ``[at|event id, gathering]`` texts). Exact: a gathering
    dropped here had a first check-in later than three others, which can only get earlier."""
    first = {g: at_event for at_event, g in map(unpack, stored)}
    for g, at_event in new.items():
        first[g] = min(first.get(g, at_event), at_event)
    kept = sorted((at_event, g) for g, at_event in first.items())[: rules.ATTENDEE_GATHERINGS]
    return [pack([at_event, g]) for at_event, g in kept]


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


def _key(text: str | None) -> Key | None:
    if not text:
        return None
    at, event_id = text.split("|", 1)
    return (at_of(at), event_id)


def _text(key: Key | None) -> str | None:
    return f"{at_key(key[0])}|{key[1]}" if key else None


def _activity_badges(
    keys: dict[str, str], act: dict[str, list[str]], add: ProfileFacts, reviews: list[str]
) -> dict[str, str]:
    """first-question, first-answer, reviewer, champion: each the earliest candidate (new
    points only ever add candidates, so the earliest of old and new is exact)."""
    keys = dict(keys)
    new: list[tuple[Key, str]] = []
    for slot, pts in add.points.items():
        label = slot.split("|")[0]
        new += [(k, label) for p in pts if (k := _key(p)) is not None]
    for badge, label in (("first-question", "question"), ("first-answer", "reply")):
        mine = [k for k, lbl in new if lbl == label]
        best = earliest(_key(keys.get(badge)), *mine)
        if best is not None:
            keys[badge] = _text(best) or ""
    if len(reviews) >= rules.REVIEWER_REVIEWS:
        keys["reviewer"] = reviews[rules.REVIEWER_REVIEWS - 1]
    if new:
        since = min(k for k, _ in new)[0]
        lo = (since - timedelta(days=rules.CHAMPION_WINDOW_DAYS + 1)).date()
        hi = (max(k for k, _ in new)[0] + timedelta(days=rules.CHAMPION_WINDOW_DAYS + 1)).date()
        window: list[tuple[Key, str]] = []
        for slot, pts in act.items():
            label, day = slot.split("|")
            if lo.isoformat() <= day <= hi.isoformat():
                window += [(k, label) for p in pts if (k := _key(p)) is not None]
        found = champion(window, since)
        best = earliest(_key(keys.get("champion")), found)
        if best is not None:
            keys["champion"] = _text(best) or ""
    return keys


def _scope_badges(credits: dict[str, Any]) -> dict[str, str]:
    """helpful, problem-solver, popular-idea, visionary from the thread and idea scopes."""
    accepted: list[Key] = []
    timelines: list[list[tuple[Key, bool]]] = []
    popular: list[Key] = []
    visionary: list[Key] = []
    for credit in credits.values():
        info = credit.get("badge_info")
        if not info:
            continue
        if "accepted" in info:
            accepted += [k for x in info["accepted"] if (k := _key(x)) is not None]
            timelines.append(
                [(k, x["solved"]) for x in info["solved"] if (k := _key(x["at"])) is not None]
            )
        else:
            popular += [k for k in [_key(info.get("popular"))] if k is not None]
            visionary += [k for k in [_key(info.get("visionary"))] if k is not None]
    out: dict[str, str] = {}
    for badge, key in (
        ("helpful", earliest(*accepted)),
        ("problem-solver", problem_solver(timelines, accepted)),
        ("popular-idea", earliest(*popular)),
        ("visionary", earliest(*visionary)),
    ):
        if key is not None:
            out[badge] = _text(key) or ""
    return out


class Users:
    def __init__(self, db: ReputationDb, *, publish: bool) -> None:
        self.db = db
        self.publish = publish

    async def apply(
        self, adds: dict[str, ProfileFacts], pushes: dict[str, dict[str, Push]]
    ) -> None:
        todo = sorted(set(adds) | set(pushes))
        for _ in range(MAX_ROUNDS):
            if not todo:
                break
            # the outbox (what the relay has yet to publish) plays no part in the derivation
            found = self.db.users.find({"_id": {"$in": todo}}, {"outbox": 0})
            docs = {d["_id"]: d async for d in found}
            token, ops = new_token(), {}
            for uid in todo:
                op = self._derive(uid, adds.get(uid), pushes.get(uid, {}), docs.get(uid), token)
                if op is not None:
                    ops[uid] = op
            won = await cas(self.db.users, ops, token)
            todo = [uid for uid in ops if uid not in won]
        if todo:
            raise RuntimeError(f"user documents kept changing under us: {todo[:5]}")

    def _derive(
        self,
        uid: str,
        add: ProfileFacts | None,
        pushes: dict[str, Push],
        doc: Doc | None,
        token: str,
    ) -> Op | None:
        doc = doc or {}
        v_old = int(doc.get("write_version", 0))
        v = v_old + 1
        activity = dict(doc.get("activity", {}))
        reviews = list(doc.get("reviews", []))
        keys = dict(doc.get("badge_keys", {}))
        attended = list(doc.get("attended", []))
        if add:
            for slot, points in add.points.items():
                now = sorted({*points, *activity.get(slot, [])})
                activity[slot] = [now[0], now[-1]]
            reviews = sorted({*reviews, *add.reviews})[: rules.REVIEWER_REVIEWS]
            keys = _activity_badges(keys, activity, add, reviews)
            if add.attended:
                attended = _attended(attended, add.attended)
                if len(attended) >= rules.ATTENDEE_GATHERINGS:
                    keys["attendee"] = unpack(attended[rules.ATTENDEE_GATHERINGS - 1])[0]
            if add.host_candidates:
                keys["host"] = min(c for c in (keys.get("host"), *add.host_candidates) if c)
        credits = dict(doc.get("credits", {}))
        changes: list[tuple[str, str, int, str, list[Any] | None, int]] = []
        for scope, push in pushes.items():
            f = scope_field(scope)
            if f not in credits or credits[f]["version"] < push.n:
                credits[f] = {"version": push.n, "points_by_day": push.credit, "last_at": push.last}
                if push.badges is not None:
                    credits[f]["badge_info"] = push.badges
                changes += [(scope, e, d, r, row, push.n) for e, d, r, row in push.changes]
        if (
            activity == doc.get("activity", {})
            and credits == doc.get("credits", {})
            and keys == doc.get("badge_keys", {})
            and reviews == doc.get("reviews", [])
            and attended == doc.get("attended", [])
        ):
            return None  # a redelivery: nothing new
        candidates = {**keys, **_scope_badges(credits)}
        badges = {b: k.split("|", 1)[1] for b, k in sorted(candidates.items())}
        times = {b: k.split("|", 1)[0] for b, k in sorted(candidates.items())}
        fields = self._totals(credits)
        fields.update(
            write_version=v,
            write_token=token,
            activity=activity,
            reviews=reviews,
            attended=attended,
            badge_keys=keys,
            credits=credits,
            badges=sorted(badges),
            badge_events=badges,
            badge_times=times,
        )
        events = self._events(uid, doc, fields, changes, v) if self.publish else []
        if not doc:
            return InsertOne(
                {"_id": uid, **fields, **outbox_fields(topics.REPUTATION_EVENTS, events)}
            )
        update = outbox_ops(topics.REPUTATION_EVENTS, events, {"$set": _changed(doc, fields)})
        return UpdateOne({"_id": uid, "write_version": v_old}, update)

    @staticmethod
    def _totals(credits: dict[str, Any]) -> dict[str, Any]:
        days: dict[str, int] = {}
        for c in credits.values():
            for day, pts in c["points_by_day"].items():
                days[day] = days.get(day, 0) + pts
        raw = sum(days.values())
        reputation = max(rules.FLOOR, rules.START + raw)
        last = max((c["last_at"] for c in credits.values() if c["last_at"]), default=None)
        out: dict[str, Any] = {
            "raw": raw,
            "reputation": reputation,
            "level": rules.level_for(reputation),
            "updated_at": at_of(last) if last else None,
        }
        for name, key_of in (("month", rules.month_key), ("week", rules.week_key)):
            keyed = {d: key_of(date.fromisoformat(d)) for d in days}
            latest = keyed[max(days)] if days else None
            pts = sum(p for d, p in days.items() if keyed[d] == latest)
            out[name] = {"key": latest, "points": pts}
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
