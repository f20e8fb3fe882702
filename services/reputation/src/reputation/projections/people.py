"""User documents: counters moved by credit transitions, badges from their candidates, outbox.

A user's reputation is the sum of what each scope (a day, a thread, an idea) credits them.
Each (user, scope) credit is its own small ``credits`` document; the user document holds only
counters (the raw sum, the points of the days of the current month and week, the newest
part's time), badge candidates and the outbox, so its size never follows the member's history
(issue 28). One compare-and-set update per touched user (filter pins ``write_version``) moves
the counters by each credit's transition (old contribution → new contribution, ``Totals``),
merges the batch's reviews and check-ins, re-derives the activity badges from the
``activity`` documents of the champion window around the batch's points, and records the
outgoing events in the same document's outbox (communitykit.outbox: relayed to
``reputation.events`` later). Event ids are derived from what changed and the versions, so a
replayed batch republishes the same ids.

Two cases read more than the batch's credits (``NeedCredits``): a transition that takes back
the member's latest day with points or newest part (the counters cannot tell what comes
before: all the member's credits are read), and a thread or idea scope whose badge
information changed (the credits with badge information are read: ``helpful``,
``problem-solver``, ``popular-idea``, ``visionary`` are the earliest candidates over them).
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from pymongo import InsertOne, ReplaceOne, UpdateOne
from pymongo.errors import BulkWriteError

from communitykit.mongo import bulk_write
from communitykit.outbox import outbox_fields, outbox_ops
from schemas import Envelope, new_event, topics
from schemas.reputation import BadgeAwarded, LevelChanged, ReputationChanged

from ..adapters.mongo import Doc, ReputationDb
from ..domain import rules
from ..domain.profile import Key, champion, earliest, problem_solver
from .codec import at_key, at_of, pack, unpack
from .days import Push
from .writes import Op, cas, new_token, scope_field, write

EVENT_NS = uuid.UUID("6f1c3f2e-8c1b-4a53-9d0e-4c6e2b7a9f10")
MAX_ROUNDS = 20


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
    """The update that turns the stored document's ``fields`` into ``fields``: embedded
    documents are updated key by key (``$set`` of ``field.key``, ``$unset`` of the keys they
    lost), everything else replaced. Never ``$set`` of a whole embedded document over
    another one: the store (FerretDB) skips such a ``$set`` when the two hold the same values
    under different keys (``{"2026-11-04": -1}`` → ``{"2026-11-03": -1}`` is left as it was)."""
    sets: dict[str, Any] = {}
    unsets: dict[str, str] = {}

    def diff(path: str, old: Any, new: Any) -> None:
        if old == new:
            return
        if isinstance(old, dict) and isinstance(new, dict) and all(map(_plain, {*old, *new})):
            for k in old.keys() - new.keys():
                unsets[f"{path}.{k}"] = ""
            for k, v in new.items():
                if k not in old:
                    sets[f"{path}.{k}"] = v
                else:
                    diff(f"{path}.{k}", old[k], v)
        else:
            sets[path] = new

    for name, value in fields.items():
        diff(name, doc.get(name), value)
    return {"$set": sets, **({"$unset": unsets} if unsets else {})}


def _plain(key: Any) -> bool:
    """A key that can be named in a dotted path."""
    return isinstance(key, str) and bool(key) and "." not in key and not key.startswith("$")


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


class NeedCredits(Exception):
    """A derivation that cannot move a counter from the transition alone and needs the
    user's stored credits: ``every`` (all of them: the latest day with points or the newest
    credit time went back) or only those with badge information (a thread or idea scope
    changed what it says about the user's badges)."""

    def __init__(self, every: bool) -> None:
        super().__init__("every" if every else "badges")
        self.every = every


@dataclass
class Derived:
    """A user's next document write (None: nothing changed) and the credits it leaves
    pending (to be written to ``credits`` once the user document is)."""

    op: Op | None
    pending: dict[str, Doc]


def _pending(doc: Doc | None) -> dict[str, Doc]:
    return dict((doc or {}).get("pending_credits", {}))


async def _find(coll: Any, query: Doc) -> list[Doc]:
    """The documents matching ``query``; none when its first ``$in`` is empty (a query the
    store would answer by reading the whole collection)."""
    first = next(iter(query.values()), None)
    if isinstance(first, dict) and first.get("$in") == []:
        return []
    return [d async for d in coll.find(query)]


def _says(info: Any) -> Any:
    """A scope's badge information, or None when it names no candidate (an idea without
    ``popular`` or ``visionary``, a thread where the user has no accepted answer)."""
    if not info:
        return None
    return info if any(info.values()) else None


def activity_id(uid: str, month: str) -> str:
    """The ``_id`` of a member's activity document of one UTC month ("YYYY-MM")."""
    return f"{uid}|{month}"


def credit_id(uid: str, field_name: str) -> str:
    """The ``_id`` of a user's credit from one scope (``field_name``: ``scope_field``)."""
    return f"{uid}|{field_name}"


def _newer(a: Doc | None, b: Doc | None) -> Doc | None:
    """The newer of two versions of one credit."""
    if a is None or (b is not None and b["version"] > a["version"]):
        return b
    return a


def period_start(day: date) -> date:
    """The first day that can share a leaderboard period (month or ISO week) with ``day``."""
    return min(day.replace(day=1), day - timedelta(days=day.weekday()))


@dataclass
class Totals:
    """A user's counters, moved by the transitions of their credits."""

    raw: int
    #: points per UTC day, for the days from ``period_start(latest day with points)`` on
    recent_days: dict[str, int]
    #: the time of the newest ledger part ("at" text) over all credits
    last_at: str | None

    def fields(self) -> dict[str, Any]:
        reputation = max(rules.FLOOR, rules.START + self.raw)
        out: dict[str, Any] = {
            "raw": self.raw,
            "recent_days": dict(sorted(self.recent_days.items())),
            "last_at": self.last_at,
            "reputation": reputation,
            "level": rules.level_for(reputation),
            "updated_at": at_of(self.last_at) if self.last_at else None,
        }
        latest = max(self.recent_days, default=None)
        for name, key_of in (("month", rules.month_key), ("week", rules.week_key)):
            key = key_of(date.fromisoformat(latest)) if latest else None
            pts = sum(
                p for d, p in self.recent_days.items() if key_of(date.fromisoformat(d)) == key
            )
            out[name] = {"key": key, "points": pts}
        return out

    @classmethod
    def of_credits(cls, credits: list[Doc]) -> Totals:
        """From every credit of the user (the fallback when a transition cannot tell)."""
        days: dict[str, int] = {}
        for c in credits:
            for day, pts in c["points_by_day"].items():
                days[day] = days.get(day, 0) + pts
        days = {d: p for d, p in days.items() if p}
        last = max((c["last_at"] for c in credits if c["last_at"]), default=None)
        return cls(sum(days.values()), _window(days), last)

    def move(self, old: Doc | None, new: Doc) -> None:
        """Apply one credit's transition (old contribution → new contribution). Raises
        ``NeedCredits(every=True)`` when the counters alone cannot tell the result."""
        old_days = old["points_by_day"] if old else {}
        old_last = old["last_at"] if old else None
        latest = max(self.recent_days, default=None)
        start = period_start(date.fromisoformat(latest)).isoformat() if latest else ""
        for day in {*old_days, *new["points_by_day"]}:
            delta = new["points_by_day"].get(day, 0) - old_days.get(day, 0)
            if not delta:
                continue
            self.raw += delta
            if day >= start:
                self.recent_days[day] = self.recent_days.get(day, 0) + delta
                if not self.recent_days[day]:
                    del self.recent_days[day]
        if old_last and old_last == self.last_at and (new["last_at"] or "") < old_last:
            raise NeedCredits(every=True)  # the newest part went back
        if new["last_at"] and (self.last_at is None or new["last_at"] > self.last_at):
            self.last_at = new["last_at"]
        now = max(self.recent_days, default=None)
        if latest and (now is None or period_start(date.fromisoformat(now)).isoformat() < start):
            raise NeedCredits(every=True)  # the latest day with points went back
        self.recent_days = _window(self.recent_days)


def _window(days: dict[str, int]) -> dict[str, int]:
    """The days with points from ``period_start`` of the latest one on."""
    if not days:
        return {}
    start = period_start(date.fromisoformat(max(days))).isoformat()
    return {d: p for d, p in days.items() if d >= start and p}


class Users:
    """Per user: a small document of counters, badge candidates and outbox, plus one small
    ``credits`` document per (user, scope) holding that scope's current contribution
    (``credit_id``). A batch reads the touched users and only their touched credits, moves
    the counters by each credit's transition (old contribution → new, ``Totals.move``) and
    writes each user once (compare-and-set on ``write_version``) with its outbox and the new
    credits in ``pending_credits``; the credits are written after that (unordered bulk, a
    version guard keeps the newest). A crash in between leaves the new credits in
    ``pending_credits``, which count as the current credit until a later batch that touches
    the user finds them written."""

    def __init__(self, db: ReputationDb, *, publish: bool) -> None:
        self.db = db
        self.publish = publish

    async def apply(
        self, adds: dict[str, ProfileFacts], pushes: dict[str, dict[str, Push]]
    ) -> None:
        """Write the touched users (the batch's activity points must be stored already:
        :meth:`store_activity`)."""
        todo = sorted(set(adds) | set(pushes))
        to_write: dict[str, Doc] = {}  # credit id → the credit its user now counts
        for _ in range(MAX_ROUNDS):
            if not todo:
                break
            # the outbox (what the relay has yet to publish) plays no part in the derivation
            found = self.db.users.find({"_id": {"$in": todo}}, {"outbox": 0})
            docs = {d["_id"]: d async for d in found}
            wanted = {
                credit_id(uid, f)
                for uid in todo
                for f in [*map(scope_field, pushes.get(uid, {})), *_pending(docs.get(uid))]
            }
            stored, activity = await asyncio.gather(
                _find(self.db.credits, {"_id": {"$in": sorted(wanted)}}),
                self._activity(adds, todo, docs),
            )
            credits = {d["_id"]: d for d in stored}
            token = new_token()
            derived: dict[str, Derived] = {}
            need: dict[str, bool] = {}
            for uid in todo:
                args = (uid, adds.get(uid), pushes.get(uid, {}), docs.get(uid), credits)
                try:
                    derived[uid] = self._derive(*args, activity.get(uid, {}), token)
                except NeedCredits as e:
                    need[uid] = e.every
            if need:
                every = await self._user_credits(need)
                for uid in need:
                    args = (uid, adds.get(uid), pushes.get(uid, {}), docs.get(uid), credits)
                    derived[uid] = self._derive(
                        *args, activity.get(uid, {}), token, every.get(uid, []), need[uid]
                    )
            ops = {uid: d.op for uid, d in derived.items() if d.op is not None}
            won = await cas(self.db.users, ops, token)
            for uid, d in derived.items():
                if d.op is None or uid in won:
                    for f, credit in d.pending.items():
                        cid = credit_id(uid, f)
                        if credits.get(cid, {}).get("version", -1) < credit["version"]:
                            to_write[cid] = {**credit, "user_id": uid}
            todo = [uid for uid in ops if uid not in won]
        if todo:
            raise RuntimeError(f"user documents kept changing under us: {todo[:5]}")
        await self._write_credits(to_write)

    async def store_activity(self, adds: dict[str, ProfileFacts]) -> None:
        """Each activity point into its member's document of that UTC month, under its kind
        and day: the first and last point (``$min`` / ``$max``: idempotent, any order)."""
        ops = []
        for uid, add in adds.items():
            by_month: dict[str, dict[str, Any]] = defaultdict(dict)
            for slot, points in add.points.items():
                month = by_month[slot.split("|")[1][:7]]
                month[f"points.{slot}.first"] = min(points)
                month[f"points.{slot}.last"] = max(points)
            for month_id, fields in sorted(by_month.items()):
                firsts = {k: v for k, v in fields.items() if k.endswith(".first")}
                lasts = {k: v for k, v in fields.items() if k.endswith(".last")}
                ops.append(
                    UpdateOne(
                        {"_id": activity_id(uid, month_id)},
                        {"$set": {"user_id": uid}, "$min": firsts, "$max": lasts},
                        upsert=True,
                    )
                )
        await write(self.db.activity, ops)

    async def _activity(
        self, adds: dict[str, ProfileFacts], todo: list[str], docs: dict[str, Doc]
    ) -> dict[str, dict[str, list[str]]]:
        """Per user whose ``champion`` candidate the batch's points can make earlier: the
        stored points ("label|day" → [first, last]) of the months the champion sweep looks
        at (the champion window around the user's new points), read by ``_id``. A candidate
        a new point makes is never earlier than that point, so a member whose candidate
        precedes all their new points is not read."""
        margin = timedelta(days=rules.CHAMPION_WINDOW_DAYS + 2)
        ids: list[str] = []
        for uid in todo:
            add = adds.get(uid)
            if add is None or not add.points:
                continue
            stored = docs.get(uid, {}).get("badge_keys", {}).get("champion")
            if stored is not None and min(p for ps in add.points.values() for p in ps) >= stored:
                continue
            days = [date.fromisoformat(slot.split("|")[1]) for slot in add.points]
            day, last = (min(days) - margin).replace(day=1), max(days) + margin
            while day <= last:
                ids.append(activity_id(uid, day.isoformat()[:7]))
                day = (day + timedelta(days=32)).replace(day=1)
        out: dict[str, dict[str, list[str]]] = defaultdict(dict)
        for d in await _find(self.db.activity, {"_id": {"$in": ids}}):
            for slot, p in d.get("points", {}).items():
                out[d["user_id"]][slot] = [p["first"], p["last"]]
        return out

    async def _user_credits(self, need: dict[str, bool]) -> dict[str, list[Doc]]:
        """The stored credits of users whose counters need them: all of them (``True``) or
        only those with badge information (one query each, on the ``user_id`` index)."""
        every = sorted(uid for uid, all_ in need.items() if all_)
        badges = sorted(uid for uid, all_ in need.items() if not all_)
        found = await asyncio.gather(
            _find(self.db.credits, {"user_id": {"$in": every}}),
            _find(self.db.credits, {"user_id": {"$in": badges}, "has_badge_info": True}),
        )
        out: dict[str, list[Doc]] = defaultdict(list)
        for d in (*found[0], *found[1]):
            out[d["user_id"]].append(d)
        return out

    async def _write_credits(self, credits: dict[str, Doc]) -> None:
        """Upsert the credits newer than the stored ones; a duplicate key means a newer
        version is already there (another replica, or a replay). Replaced whole: a ``$set``
        would keep a ``badge_info`` the new version lacks, and the store skips a ``$set`` of
        ``points_by_day`` whose values stay the same under other days (see ``_changed``)."""
        ops = [
            ReplaceOne(
                {"_id": cid, "version": {"$lt": c["version"]}},
                {**c, "has_badge_info": _says(c.get("badge_info")) is not None},
                upsert=True,
            )
            for cid, c in sorted(credits.items())
        ]
        for err in await bulk_write(self.db.credits, ops):
            if err.get("code") != 11000:
                raise BulkWriteError({"writeErrors": [err]})

    def _derive(
        self,
        uid: str,
        add: ProfileFacts | None,
        pushes: dict[str, Push],
        doc: Doc | None,
        stored: dict[str, Doc],
        activity: dict[str, list[str]],
        token: str,
        known: list[Doc] | None = None,
        complete: bool = False,
    ) -> Derived:
        """One user's next document. ``known``: the user's stored credits when a first
        attempt raised ``NeedCredits`` (all of them when ``complete``, else only those with
        badge information)."""
        doc = doc or {}
        v_old = int(doc.get("write_version", 0))
        v = v_old + 1
        reviews = list(doc.get("reviews", []))
        keys = dict(doc.get("badge_keys", {}))
        attended = list(doc.get("attended", []))
        if add:
            reviews = sorted({*reviews, *add.reviews})[: rules.REVIEWER_REVIEWS]
            keys = _activity_badges(keys, activity, add, reviews)
            if add.attended:
                attended = _attended(attended, add.attended)
                if len(attended) >= rules.ATTENDEE_GATHERINGS:
                    keys["attendee"] = unpack(attended[rules.ATTENDEE_GATHERINGS - 1])[0]
            if add.host_candidates:
                keys["host"] = min(c for c in (keys.get("host"), *add.host_candidates) if c)
        pending_before = _pending(doc)
        # the current credit per scope: the newer of the stored one and a pending one
        current = {
            f: _newer(stored.get(credit_id(uid, f)), pending_before.get(f))
            for f in {*pending_before, *map(scope_field, pushes)}
        }
        pending = {
            f: c
            for f, c in pending_before.items()
            if stored.get(credit_id(uid, f), {}).get("version", -1) < c["version"]
        }
        totals = Totals(
            int(doc.get("raw", 0)), dict(doc.get("recent_days", {})), doc.get("last_at")
        )
        moves: list[tuple[Doc | None, Doc]] = []
        badges_changed = False
        changes: list[tuple[str, str, int, str, list[Any] | None, int]] = []
        for scope, push in pushes.items():
            f = scope_field(scope)
            old = current.get(f)
            if old is not None and old["version"] >= push.n:
                continue
            new: Doc = {
                "scope": f,
                "version": push.n,
                "points_by_day": push.credit,
                "last_at": push.last,
            }
            if push.badges is not None:
                new["badge_info"] = push.badges
            badges_changed |= _says((old or {}).get("badge_info")) != _says(new.get("badge_info"))
            moves.append((old, new))
            pending[f] = current[f] = new
            changes += [(scope, e, d, r, row, push.n) for e, d, r, row in push.changes]
        if (
            doc
            and not moves
            and keys == doc.get("badge_keys", {})
            and reviews == doc.get("reviews", [])
            and attended == doc.get("attended", [])
        ):
            return Derived(None, pending)  # a redelivery: nothing new
        if known is not None and complete:  # every stored credit, the current ones over them
            by_scope = {c["scope"]: c for c in known}
            by_scope.update({f: c for f, c in current.items() if c is not None})
            totals = Totals.of_credits(list(by_scope.values()))
        else:
            for old, new in moves:
                totals.move(old, new)
        scope_keys = dict(doc.get("scope_badge_keys", {}))
        if badges_changed:
            if known is None:
                raise NeedCredits(every=False)
            by_scope = {c["scope"]: c for c in known if _says(c.get("badge_info"))}
            by_scope.update({f: c for f, c in current.items() if c is not None})
            scope_keys = _scope_badges(by_scope)
        candidates = {**keys, **scope_keys}
        badges = {b: k.split("|", 1)[1] for b, k in sorted(candidates.items())}
        times = {b: k.split("|", 1)[0] for b, k in sorted(candidates.items())}
        fields = totals.fields()
        fields.update(
            write_version=v,
            write_token=token,
            reviews=reviews,
            attended=attended,
            badge_keys=keys,
            scope_badge_keys=scope_keys,
            pending_credits=pending,
            badges=sorted(badges),
            badge_events=badges,
            badge_times=times,
        )
        events = self._events(uid, doc, fields, changes, v) if self.publish else []
        if not doc:
            op: Op = InsertOne(
                {"_id": uid, **fields, **outbox_fields(topics.REPUTATION_EVENTS, events)}
            )
        else:
            update = outbox_ops(topics.REPUTATION_EVENTS, events, _changed(doc, fields))
            op = UpdateOne({"_id": uid, "write_version": v_old}, update)
        return Derived(op, pending)

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
