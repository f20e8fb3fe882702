"""The consumer's projection: events -> decisions -> notifications, inbox entries, digests.

Per batch (the write idiom of a projection):

1. load what the batch needs in a few ``$in`` reads (threads, post authors, ideas, follows of
   the scopes it touches, users it mentions) and fold the events in order over that
   ``World`` (pure: ``domain.recipients``);
2. decide every candidate against its member's budget (pure: ``domain.budget``), member by
   member, in event order;
3. write: what the events taught (idempotent ``$setOnInsert`` upserts); then each touched
   member document ONCE, version-guarded, with its consumed positions and its events in its
   outbox (atomically); then, for the members whose write won, each notification (a
   ``$setOnInsert`` upsert by its deterministic id), each touched inbox entry once and each
   touched digest once — each a bulk write.

A member document whose guard missed (another replica wrote it meanwhile) fails the batch:
the kit's consumer retries it, the members already written skip what their positions cover
and re-materialise those notifications from their decision memory, the others decide again.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from pymongo import InsertOne, UpdateOne
from pymongo.errors import BulkWriteError

from communitykit.consumer import Received
from communitykit.mongo import bulk_write, only_duplicates
from communitykit.outbox import outbox_fields, outbox_ops
from communitykit.telemetry import inject_headers
from schemas import Envelope, new_event, topics
from schemas.notifications import NotificationDelivered, NotificationSuppressed

from ..adapters.mongo import NotificationsDb, find_by_ids
from ..domain.budget import decide, on_read, on_visit
from ..domain.classes import priority_of
from ..domain.digest import period_of
from ..domain.follows import target_key
from ..domain.preferences import Preferences
from ..domain.recipients import Candidate, ThreadMeta, World, actors, candidates, needs
from .state import MemberState, group_key, partition_key

Doc = dict[str, Any]
ALL = "*"


class MemberWriteConflictError(RuntimeError):
    """Another replica wrote some member documents of this batch first: retry the batch."""


@dataclass
class Step:
    tp: str
    offset: int
    at: datetime
    candidate: Candidate | None = None
    visit: bool = False
    read: str | None = None  # entry id, or ALL


def email_of(prefs: Preferences, member: str, domain: str) -> str | None:
    return prefs.email or (f"{member}@{domain}" if domain else None)


class InboxProjection:
    def __init__(
        self,
        db: NotificationsDb,
        *,
        publish: bool = True,
        staff: frozenset[str] = frozenset(),
        email_domain: str = "",
        digest_period_seconds: float | None = None,
        digest_grace_seconds: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.publish = publish
        self.staff = staff
        self.email_domain = email_domain
        self.period_seconds = digest_period_seconds
        self.grace = digest_grace_seconds
        self.clock = clock
        #: emails decided by the last batch (the sender is woken when > 0)
        self.emails_decided = 0

    # ------------------------------------------------------------------ world
    async def _world(self, sources: Sequence[Received]) -> World:
        """What the batch's events need, as it was before the batch: a fact taught by an
        event of this batch's partitions at or after the batch's first offset there (learnt
        when a first attempt at this batch crashed before its members were written, or by a
        later batch whose commit a crash lost) is left out, and the fold teaches it again
        at its own event, so that a redelivery decides exactly as the first attempt did."""
        keys: dict[str, set[str]] = defaultdict(set)
        start: dict[str, int] = {}
        for r in sources:
            tp = partition_key(r.topic, r.partition)
            start[tp] = min(start.get(tp, r.offset), r.offset)
            for k, v in needs(r.event).items():
                keys[k] |= v

        def before(d: Doc) -> bool:
            tp = d.get("from_tp")
            return d.get("explicit") is True or tp not in start or d["from_offset"] < start[tp]

        w = World(staff=self.staff)
        if keys["threads"]:
            async for d in find_by_ids(self.db.threads, keys["threads"]):
                if before(d):
                    w.threads[d["_id"]] = ThreadMeta(
                        d["author"], d["title"], d.get("group_id"), list(d.get("tags", []))
                    )
        if keys["posts"]:
            async for d in find_by_ids(self.db.posts, keys["posts"]):
                if before(d):
                    w.post_authors[d["_id"]] = d["author"]
        if keys["ideas"]:
            async for d in find_by_ids(self.db.ideas, keys["ideas"]):
                if before(d):
                    w.ideas[d["_id"]] = (d["author"], d.get("title", ""))
        # a reply's thread brings its group and tags: their followers count too
        for meta in w.threads.values():
            if meta.group_id:
                keys["targets"].add(target_key("group", meta.group_id))
            keys["targets"] |= {target_key("tag", t) for t in meta.tags}
        if keys["targets"]:
            cursor = self.db.follows.find(
                {"tk": {"$in": sorted(keys["targets"])}},
                {"member": 1, "tk": 1, "level": 1, "explicit": 1, "from_tp": 1, "from_offset": 1},
            )
            async for d in cursor:
                if before(d):
                    w.follows.setdefault(d["tk"], {})[d["member"]] = d["level"]
        if keys["users"]:
            async for d in find_by_ids(self.db.users, keys["users"]):
                if before(d):
                    w.users.add(d["_id"])
        return w

    async def _learnt(self, w: World) -> None:
        """What the events taught: idempotent inserts (a redelivery changes nothing)."""

        def ins(doc: Doc, fact: str) -> UpdateOne:
            """The fact with the position of the event that taught it (see ``_world``)."""
            at = w.taught.get(fact)
            if at is not None:
                doc = {**doc, "from_tp": at[0], "from_offset": at[1]}
            return UpdateOne({"_id": doc["_id"]}, {"$setOnInsert": doc}, upsert=True)

        writes = [
            (
                self.db.threads,
                [
                    ins(
                        {
                            "_id": t,
                            "author": m.author,
                            "title": m.title,
                            "group_id": m.group_id,
                            "tags": m.tags,
                        },
                        "thread:" + t,
                    )
                    for t, m in w.new_threads.items()
                ],
            ),
            (
                self.db.posts,
                [
                    ins({"_id": p, "author": a, "thread": t}, "post:" + p)
                    for p, (a, t) in w.new_posts.items()
                ],
            ),
            (
                self.db.ideas,
                [
                    ins({"_id": i, "author": a, "title": t}, "idea:" + i)
                    for i, (a, t) in w.new_ideas.items()
                ],
            ),
            (self.db.users, [ins({"_id": u}, "user:" + u) for u in sorted(w.new_users)]),
            (
                self.db.follows,
                [
                    ins(
                        {
                            "_id": fid,
                            "member": m,
                            "scope": s,
                            "target": t,
                            "tk": target_key(s, t),
                            "level": lv,
                            "explicit": False,
                            "version": 1,
                        },
                        "follow:" + fid,
                    )
                    for fid, (m, s, t, lv) in w.new_follows.items()
                ],
            ),
        ]
        for coll, ops in writes:
            errors = await bulk_write(coll, ops)
            if errors and not only_duplicates(errors):
                raise RuntimeError(f"{coll.name}: {errors[0]}")

    # ------------------------------------------------------------------ batch
    async def apply(self, batch: Sequence[Received]) -> None:
        """Every consumed topic -> decisions; notifications.events NotificationRead -> the
        budget grows back and the entry's group closes (idempotent per partition offset).
        A republished copy of an event (a relay that died before marking: same id, a later
        offset of the same partition) is dropped: only its first copy is applied."""
        stored, first = await self._windows(batch)
        fresh = [
            r for r in batch if first[partition_key(r.topic, r.partition)][_token(r)] == r.offset
        ]
        sources = [r for r in fresh if r.topic != topics.NOTIFICATIONS_EVENTS]
        world = await self._world(sources)
        work: dict[str, list[Step]] = defaultdict(list)
        for r in fresh:
            tp, ev = partition_key(r.topic, r.partition), r.event
            world.at = (tp, r.offset)
            if r.topic == topics.NOTIFICATIONS_EVENTS:
                if ev.type.split(".")[2] == "NotificationRead":
                    work[ev.data.recipient_id].append(
                        Step(tp, r.offset, ev.time, read=ev.data.entry_id or ALL)
                    )
                continue
            for a in sorted(actors(ev)):
                work[a].append(Step(tp, r.offset, ev.time, visit=True))
            for c in candidates(ev, world):
                work[c.recipient].append(Step(tp, r.offset, ev.time, candidate=c))
        await self._learnt(world)
        self.emails_decided = 0
        if work:
            await self._decide_and_write(work)
        await self._advance(batch, stored, first)

    # ------------------------------------------------------------------ copies
    async def _windows(
        self, batch: Sequence[Received]
    ) -> tuple[dict[str, Doc], dict[str, dict[str, int]]]:
        """Per source partition of the batch: its stored ``positions`` document and the
        first offset of every event token it read recently, this batch's included (a record
        whose token was first read at a lower offset is a copy; a redelivered original has
        its own offset there and still reaches the members' positions)."""
        keys = {partition_key(r.topic, r.partition) for r in batch}
        stored = {d["_id"]: d async for d in find_by_ids(self.db.positions, keys)}
        first: dict[str, dict[str, int]] = {}
        for k in keys:
            d = stored.get(k) or {}
            toks, offs = d.get("recent", ""), d.get("offs", [])
            first[k] = {toks[i * TOKEN : (i + 1) * TOKEN]: int(o) for i, o in enumerate(offs)}
        for r in batch:
            first[partition_key(r.topic, r.partition)].setdefault(_token(r), r.offset)
        return stored, first

    async def _advance(
        self, batch: Sequence[Received], stored: dict[str, Doc], first: dict[str, dict[str, int]]
    ) -> None:
        """After the batch's writes: each partition's last offset and its window of the
        last ``DEDUPE_WINDOW`` event tokens with their first offsets (a crash before this
        replays the batch, which the members' positions make a no-op)."""
        last: dict[str, int] = {}
        for r in batch:
            k = partition_key(r.topic, r.partition)
            last[k] = max(last.get(k, -1), r.offset)
        ops = []
        for k, off in last.items():
            if off <= (stored.get(k) or {}).get("offset", -1):
                continue
            window = sorted(first[k].items(), key=lambda t: t[1])[-DEDUPE_WINDOW:]
            ops.append(
                UpdateOne(
                    # a replica that got further first (after a rebalance) wins
                    {"_id": k, "offset": {"$not": {"$gte": off}}},
                    {
                        "$set": {
                            "offset": off,
                            "recent": "".join(t for t, _ in window),
                            "offs": [o for _, o in window],
                        }
                    },
                    upsert=k not in stored,
                )
            )
        errors = await bulk_write(self.db.positions, ops)
        if errors and not only_duplicates(errors):
            raise RuntimeError(f"positions: {errors[0]}")

    async def _decide_and_write(self, work: dict[str, list[Step]]) -> None:
        ids = sorted(work)
        # the two reads do not depend on each other: one round trip in flight for each
        docs, prefs = await asyncio.gather(
            _by_id(self.db.members, ids), _by_id(self.db.preferences, ids)
        )
        # parsed once per batch; a member without preferences has the defaults (one shared,
        # immutable instance instead of one validated per member)
        default = Preferences()
        prefs_of = {m: Preferences.from_doc(d) for m, d in prefs.items()}
        # the trace context of the batch, once (the same for every member's outbox events)
        trace = inject_headers()
        token = uuid.uuid4().hex
        now = self.clock()
        member_ops: list[Any] = []
        notes: dict[str, Doc] = {}
        entries: dict[str, Doc] = {}
        digest_items: dict[str, tuple[str, Doc]] = {}  # nid -> (member, item)
        remat: list[tuple[MemberState, Doc]] = []
        for m in ids:
            state = MemberState.from_doc(m, docs.get(m))
            p = prefs_of.get(m, default)
            address = email_of(p, m, self.email_domain)
            if address is None:
                p = replace(p, channels=p.channels - {"email"})
            events: list[Envelope[Any]] = []
            for s in work[m]:
                if s.offset <= state.pos.get(s.tp, -1):
                    if s.candidate is not None:
                        nid = s.candidate.notification_id
                        kept = state.recall(s.tp, nid)
                        if kept is not None:
                            state.remember(s.tp, nid, kept)
                            remat.append((state, _note(s.candidate, s.at, address, kept)))
                    continue
                state.pos[s.tp] = s.offset
                if s.visit:
                    on_visit(state.budget, s.at)
                elif s.read is not None:
                    on_read(state.budget, s.at)
                    state.open = (
                        {}
                        if s.read == ALL
                        else {g: o for g, o in state.open.items() if o["entry"] != s.read}
                    )
                elif s.candidate is not None:
                    self._decide(state, p, address, s, notes, entries, digest_items, events)
            fields = {**state.fields(), "batch": token}
            if state.version == 0:
                doc = {"_id": m, **fields, "version": 1}
                if self.publish:
                    doc.update(
                        outbox_fields(topics.NOTIFICATIONS_EVENTS, events, trace_headers=trace)
                    )
                member_ops.append(InsertOne(doc))
            else:
                update = {"$set": fields, "$inc": {"version": 1}}
                if self.publish:
                    update = outbox_ops(
                        topics.NOTIFICATIONS_EVENTS, events, update, trace_headers=trace
                    )
                member_ops.append(UpdateOne({"_id": m, "version": state.version}, update))
        losers = await self._write_members(ids, member_ops, token)
        if remat:
            # decided before (redelivery): only what a crash kept from being written
            have = {
                d["_id"]
                async for d in find_by_ids(
                    self.db.notifications, [n["_id"] for _, n in remat], {"_id": 1}
                )
            }
            for state, note in remat:
                if note["_id"] not in have:
                    self._materialise(state, note, notes, entries, digest_items)
        await self._write_outputs(notes, entries, digest_items, losers, now, prefs_of)
        if losers:
            raise MemberWriteConflictError(f"{len(losers)} member documents changed meanwhile")

    async def _write_members(self, ids: list[str], ops: list[Any], token: str) -> set[str]:
        """One unordered bulk write of the member documents (``ops[i]`` writes ``ids[i]``);
        the ids whose guard missed (a concurrent writer), found without reading the documents
        back in the usual case."""
        if not ops:
            return set()
        updates = sum(isinstance(op, UpdateOne) for op in ops)
        try:
            res = await self.db.members.bulk_write(ops, ordered=False)
            matched, errors = res.matched_count, []
        except BulkWriteError as e:
            matched, errors = e.details.get("nMatched", 0), e.details.get("writeErrors", [])
        if errors and not only_duplicates(errors):
            raise RuntimeError(f"members: {errors[0]}")
        if matched == updates and not errors:
            return set()
        return {
            d["_id"]
            async for d in find_by_ids(self.db.members, ids, {"_id": 1}, {"batch": {"$ne": token}})
        }

    def _decide(
        self,
        state: MemberState,
        p: Preferences,
        address: str | None,
        s: Step,
        notes: dict[str, Doc],
        entries: dict[str, Doc],
        digest_items: dict[str, tuple[str, Doc]],
        events: list[Envelope[Any]],
    ) -> None:
        c = s.candidate
        assert c is not None
        d = decide(c.kind, p, state.budget, s.at, level=c.level)
        nid = c.notification_id
        entry_id = None
        if d.reason != "muted":
            gk = group_key(c.group)
            o = state.open.get(gk)
            if o is None:
                o = {"entry": "e_" + nid[2:26], "count": 0, "group": c.group}
            o = {**o, "count": o["count"] + 1}
            state.open[gk] = o
            entry_id = o["entry"]
        decision = {"c": list(d.channels), "r": d.reason, "d": d.in_digest, "e": entry_id}
        note = _note(c, s.at, address, decision)
        # the decision only (the rest is the candidate again on a redelivery): small documents
        state.remember(s.tp, nid, decision)
        self._materialise(state, note, notes, entries, digest_items)
        if d.reason is not None:
            state.held({"text": c.text, "kind": c.kind, "reason": d.reason, "at": s.at})
        if self.publish:
            events.extend(_decision_events(note, s.at))

    # FerretDB leaves null and empty-array fields out of an upserted document: optional
    # fields of a note are read with .get()
    def _materialise(
        self,
        state: MemberState,
        note: Doc,
        notes: dict[str, Doc],
        entries: dict[str, Doc],
        digest_items: dict[str, tuple[str, Doc]],
    ) -> None:
        notes[note["_id"]] = note
        if note["email"] == "pending":
            self.emails_decided += 1
        entry = note.get("entry")
        if entry is not None:
            o = state.open.get(group_key(note["group"]))
            count = o["count"] if o is not None and o["entry"] == entry else 1
            prev = entries.get(entry)
            if prev is None or prev["latest"] <= note["at"]:
                text = note["text"]
                if count > 1:
                    text = (note.get("many") or "{n} x " + note["text"]).replace("{n}", str(count))
                entries[entry] = {
                    "r": note["recipient"],
                    "group": note["group"],
                    "kind": note["kind"],
                    "text": text,
                    "link": note["link"],
                    "count": count,
                    "latest": note["at"],
                }
        if note.get("in_digest"):
            digest_items[note["_id"]] = (
                note["recipient"],
                {
                    "kind": note["kind"],
                    "group": note["group"],
                    "text": note["text"],
                    "link": note["link"],
                    "at": note["at"],
                },
            )

    async def _write_outputs(
        self,
        notes: dict[str, Doc],
        entries: dict[str, Doc],
        digest_items: dict[str, tuple[str, Doc]],
        losers: set[str],
        now: float,
        prefs: dict[str, Preferences],
    ) -> None:
        # digests and inbox first, notifications last: a notification document that exists
        # says everything of its decision was written (a redelivery then re-writes nothing)
        items = {nid: v for nid, v in digest_items.items() if v[0] not in losers}
        if items:
            await self._add_to_digests(items, now, prefs)
        entry_ops: list[Any] = [
            # a new entry is an insert (cheaper; a duplicate is a redelivered one, kept as
            # is); a grown one is an update whose $inc version a concurrent "mark read" (a
            # guarded Repository write) sees
            InsertOne({"_id": eid, **e, "read": False, "version": 1})
            if e["count"] == 1
            else UpdateOne(
                {"_id": eid},
                {"$set": {**e, "read": False}, "$inc": {"version": 1}},
                upsert=True,
            )
            for eid, e in entries.items()
            if e["r"] not in losers
        ]
        errors = await bulk_write(self.db.inbox, entry_ops)
        if errors and not only_duplicates(errors):
            raise RuntimeError(f"inbox: {errors[0]}")
        # inserts, cheaper than upserts: a duplicate id is a note already written, kept as is
        note_ops = [InsertOne(n) for n in notes.values() if n["recipient"] not in losers]
        errors = await bulk_write(self.db.notifications, note_ops)
        if errors and not only_duplicates(errors):
            raise RuntimeError(f"notifications: {errors[0]}")

    async def _add_to_digests(
        self, items: dict[str, tuple[str, Doc]], now: float, prefs: dict[str, Preferences]
    ) -> None:
        """Each held item joins its member's open digest of the current period; a digest
        already being sent (its period ended) is never changed: the item joins the next.
        ``prefs``: the members' preferences as the batch read them (its decisions used them;
        a member without any has the defaults)."""
        current = datetime.fromtimestamp(now, UTC)
        # the period of the event's time (a burst lands in one digest however long its
        # processing takes); an item decided after that period's digest was due joins the
        # current one
        when = {nid: _aware(item["at"]) for nid, (_, item) in items.items()}
        for _ in range(3):
            digests: dict[str, tuple[str, str, float, dict[str, Doc]]] = {}
            for nid, (m, item) in items.items():
                every = (prefs.get(m) or Preferences()).digest
                period, end = period_of(when[nid], every, self.period_seconds)
                if end + self.grace < now:
                    period, end = period_of(current, every, self.period_seconds)
                digests.setdefault(f"d_{m}_{period}", (m, period, end, {}))[3][nid] = item
            order = list(digests)
            ops = [
                UpdateOne(
                    {"_id": did, "status": "open"},
                    {
                        "$set": {f"items.{nid}": it for nid, it in digests[did][3].items()},
                        "$setOnInsert": {
                            "r": digests[did][0],
                            "period": digests[did][1],
                            "due": digests[did][2] + self.grace,
                        },
                    },
                    upsert=True,
                )
                for did in order
            ]
            errors = await bulk_write(self.db.digests, ops)
            if errors and not only_duplicates(errors):
                raise RuntimeError(f"digests: {errors[0]}")
            closing = [order[e["index"]] for e in errors]
            if not closing:
                return
            # that period's digest is being sent: its items join the next period's
            items = {
                nid: v for did in closing for nid, v in items.items() if nid in digests[did][3]
            }
            for did in closing:
                for nid in digests[did][3]:
                    when[nid] = datetime.fromtimestamp(digests[did][2], UTC)
        raise RuntimeError("no open digest period accepted the held notifications")


#: event tokens remembered per source partition to drop republished copies: a copy published
#: more than this many records after its original would be applied again (a relay
#: republishes at its next round, seconds later)
DEDUPE_WINDOW = 1000
TOKEN = 12


async def _by_id(coll: Any, ids: list[str]) -> dict[str, Doc]:
    """The documents of ``ids`` by id, without their outbox."""
    return {d["_id"]: d async for d in find_by_ids(coll, ids, {"outbox": 0})}


def _token(r: Received) -> str:
    return hashlib.sha1(r.event.id.encode()).hexdigest()[:TOKEN]


def _note(c: Candidate, at: datetime, address: str | None, decision: Doc) -> Doc:
    """The notification document of a candidate and its decision."""
    channels = list(decision.get("c") or [])
    return {
        "_id": c.notification_id,
        "recipient": c.recipient,
        "kind": c.kind,
        "priority": priority_of(c.kind).label,
        "source_event_id": c.source_event_id,
        "group": c.group,
        "text": c.text,
        "link": c.link,
        "many": c.many,
        "at": at,
        "entry": decision.get("e"),
        "channels": channels,
        "reason": decision.get("r"),
        "in_digest": bool(decision.get("d")),
        "email": "pending" if "email" in channels else "none",
        "to": address,
    }


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def _decision_events(note: Doc, at: datetime) -> list[Envelope[Any]]:
    base = {
        "notification_id": note["_id"],
        "recipient_id": note["recipient"],
        "kind": note["kind"],
        "priority": note["priority"],
        "source_event_id": note["source_event_id"],
    }
    if note.get("reason") is not None:
        return [
            new_event(
                NotificationSuppressed(
                    **base, reason=note.get("reason"), in_digest=note.get("in_digest")
                ),
                subject=note["recipient"],
                time=at,
                event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, note["_id"] + "/s")),
            )
        ]
    if "in_app" in note.get("channels", []):
        return [
            new_event(
                NotificationDelivered(**base, channel="in_app", entry_id=note.get("entry") or ""),
                subject=note["recipient"],
                time=at,
                event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, note["_id"] + "/in_app")),
            )
        ]
    return []
