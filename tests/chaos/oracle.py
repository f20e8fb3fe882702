"""The oracle: what the projections must hold, folded purely from what is on the topics.

The topics are read with a raw consumer (no group, nothing committed) up to a snapshot of
offsets, and each service's *pure domain code* folds the distinct events (first copy of each
event id, in partition order) into the expected state:

* reputation: ``reputation.domain`` (facts, the whole fold per user) → reputation and ledger
  lines per user;
* analytics: ``analytics.domain`` (events → changes → one ordered application of the update
  operators) → every projection document;
* search: ``search.domain.documents`` → every indexed document's state;
* gatherings: the members' RSVP records (``rsvps``) from the distinct RsvpChanged and
  MemberCheckedIn events (newest sequence per record), and the invariants of the seats
  (:func:`gatherings_invariants`).

The live side is read from each service's store (MongoDB / the index on disk). Any
difference is listed; the tests fail on any.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import tantivy
from aiokafka import AIOKafkaConsumer, TopicPartition
from pymongo import AsyncMongoClient

from analytics.adapters.mongo import PROJECTION as ANALYTICS_PROJECTION
from analytics.adapters.mongo import normalize as analytics_normalize
from analytics.domain.changes import Ops
from analytics.domain.events import Changes
from communitykit import rebuild
from communitykit.consumer import Received
from reputation.adapters.mongo import ReputationDb
from reputation.domain.facts import facts_of, removal_of
from reputation.domain.fold import fold
from reputation.projections.views import ledger_lines
from schemas import PoisonEventError, UnknownEventTypeError, parse, topics
from schemas import gatherings as gx
from search.adapters.index import META_KEY, SearchIndex, doc_key, doc_state
from search.domain import documents

EVENT_TOPICS = (topics.FORUM_EVENTS, topics.IDEAS_EVENTS, topics.REPUTATION_EVENTS)
Offsets = dict[TopicPartition, int]


@dataclass(frozen=True)
class Record:
    """One record of a topic, parsed when it is a valid event."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    received: Received | None


async def end_offsets(bootstrap: str, names: Iterable[str] = EVENT_TOPICS) -> Offsets:
    return await rebuild.end_offsets(bootstrap, list(names))


async def read(bootstrap: str, until: Offsets, since: Offsets | None = None) -> list[Record]:
    """Every record from ``since`` (default: the beginning) up to below ``until``, in
    (topic, partition, offset) order."""
    since = since or {}
    todo = {tp: end for tp, end in until.items() if end > since.get(tp, 0)}
    out: list[Record] = []
    if not todo:
        return out
    c = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, max_poll_records=2000
    )
    await c.start()
    try:
        c.assign(list(todo))
        for tp in todo:
            c.seek(tp, since.get(tp, 0))
        while todo:
            batch = await c.getmany(*todo, timeout_ms=1000)
            for tp, records in batch.items():
                for r in records:
                    if r.offset >= until[tp] or r.offset < since.get(tp, 0):
                        continue
                    out.append(_record(r))
            for tp in list(todo):
                if await c.position(tp) >= until[tp]:
                    del todo[tp]
    finally:
        await c.stop()
    out.sort(key=lambda r: (r.topic, r.partition, r.offset))
    return out


def _record(r: Any) -> Record:
    received = None
    if r.value is not None:
        try:
            received = Received(parse(r.value), r.topic, r.partition, r.offset)
        except (PoisonEventError, UnknownEventTypeError):
            received = None
    return Record(r.topic, r.partition, r.offset, r.key, r.value, tuple(r.headers or ()), received)


def distinct(records: Iterable[Record], names: Iterable[str]) -> list[Received]:
    """The first copy of every valid event of ``names``, in partition order."""
    wanted = set(names)
    seen: set[str] = set()
    out = []
    for r in records:
        if r.topic in wanted and r.received is not None and r.received.event.id not in seen:
            seen.add(r.received.event.id)
            out.append(r.received)
    return out


def below(records: Iterable[Record], until: Offsets) -> list[Record]:
    return [r for r in records if r.offset < until.get(TopicPartition(r.topic, r.partition), 0)]


# ----------------------------------------------------------------------------- comparison


def differences(want: dict[Any, Any], got: dict[Any, Any], what: str, limit: int = 20) -> list[str]:
    """One line per key whose value differs (missing on either side included)."""
    out = []
    for k in sorted(set(want) | set(got), key=repr):
        if want.get(k) != got.get(k):
            out.append(f"{what} {k!r}: oracle {want.get(k)!r} != live {got.get(k)!r}")
    return out if len(out) <= limit else [*out[:limit], f"... and {len(out) - limit} more"]


def count_differences(lines: list[str]) -> int:
    n = 0
    for line in lines:
        if line.startswith("... and "):
            n += int(line.split()[2])
        else:
            n += 1
    return n


# ----------------------------------------------------------------------------- reputation

Reputation = dict[str, tuple[int, list[tuple[int, str, str]]]]


def reputation_oracle(events: list[Received]) -> Reputation:
    """Each user's reputation and ledger lines from one whole fold of their facts."""
    facts: dict[str, list[Any]] = defaultdict(list)
    envs = [r.event for r in events if r.topic in (topics.FORUM_EVENTS, topics.IDEAS_EVENTS)]
    removals = [rm for e in envs if (rm := removal_of(e))]
    for e in envs:
        for f in facts_of(e):
            facts[f.user_id].append(f)
    out: Reputation = {}
    for user, fs in facts.items():
        refs = {
            x
            for f in fs
            for x in (f.data.get("target_id"), f.data.get("answer_post_id"), f.data.get("post_id"))
            if x
        }
        st = fold(user, fs, [r for r in removals if r.post_id in refs])
        lines = [(x.delta, x.reason, x.source_event_id) for x in st.entries]
        if st.reputation != 1 or lines:
            out[user] = (st.reputation, lines)
    return out


async def reputation_live(mongo: AsyncMongoClient[dict[str, Any]], db: str) -> Reputation:
    rdb = ReputationDb(mongo[db])
    out: Reputation = {}
    async for d in rdb.users.find({}, {"reputation": 1}):
        lines = [
            (e["delta"], e["reason"], e["source_event_id"])
            for e in await ledger_lines(rdb, d["_id"])
        ]
        rep = int(d.get("reputation", 1))
        if rep != 1 or lines:
            out[d["_id"]] = (rep, lines)
    return out


# ----------------------------------------------------------------------------- analytics

Analytics = dict[str, dict[str, Any]]


def _canon(v: Any) -> Any:
    """Datetimes as UTC ISO text at MongoDB's millisecond precision."""
    if isinstance(v, datetime):
        t = v if v.tzinfo else v.replace(tzinfo=UTC)
        return t.astimezone(UTC).isoformat(timespec="milliseconds")
    if isinstance(v, dict):
        return {k: _canon(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_canon(x) for x in v]
    return v


def _apply(doc: dict[str, Any], ops: Ops) -> None:
    """One application of a change's update operators (what MongoDB does with them)."""
    for path, v in ops.inc.items():
        cur = _get(doc, path)
        _put(doc, path, (cur or 0) + v)
    for path, v in ops.mn.items():
        cur = _get(doc, path)
        _put(doc, path, v if cur is None else min(cur, v))
    for path, v in ops.mx.items():
        cur = _get(doc, path)
        _put(doc, path, v if cur is None else max(cur, v))
    for path, v in ops.st.items():
        _put(doc, path, copy.deepcopy(v))
    for path, vs in ops.add.items():
        cur = _get(doc, path)
        arr = list(cur) if isinstance(cur, list) else []
        for v in vs:
            if v not in arr:
                arr.append(copy.deepcopy(v))
        _put(doc, path, arr)


def _get(doc: dict[str, Any], path: str) -> Any:
    cur: Any = doc
    for p in path.split("."):
        if not isinstance(cur, dict) or p not in cur:
            return None
        cur = cur[p]
    return cur


def _put(doc: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    for p in parents:
        doc = doc.setdefault(p, {})
    doc[leaf] = value


def analytics_oracle(events: list[Received]) -> Analytics:
    """Every analytics document from one ordered application of every distinct event."""
    changes = Changes({}).add_all(events)
    docs: dict[str, dict[str, Any]] = defaultdict(dict)
    for c in sorted(changes, key=lambda c: (c.seq, c.offset)):
        if c.ops.empty():
            continue
        doc = docs[c.coll].setdefault(c.doc_id, {"_id": c.doc_id})
        _apply(doc, c.ops)
    out: Analytics = {
        coll: {i: analytics_normalize(coll, _canon(d)) for i, d in by_id.items()}
        for coll, by_id in docs.items()
    }
    return out


async def analytics_live(mongo: AsyncMongoClient[dict[str, Any]], db: str) -> Analytics:
    out: Analytics = {}
    for coll in ANALYTICS_PROJECTION:
        docs = {}
        async for d in mongo[db][coll].find({}, {"seq": 0}):
            docs[d["_id"]] = analytics_normalize(coll, _canon(d))
        if docs:
            out[coll] = docs
    return out


def analytics_differences(want: Analytics, got: Analytics) -> list[str]:
    out = []
    for coll in sorted(set(want) | set(got)):
        out += differences(want.get(coll, {}), got.get(coll, {}), f"analytics {coll}")
    return out


# ----------------------------------------------------------------------------- search

Search = dict[str, Any]


def search_oracle(events: list[Received]) -> Search:
    states: dict[str, dict[str, Any]] = {}
    for r in events:
        if r.topic not in (topics.FORUM_EVENTS, topics.IDEAS_EVENTS):
            continue
        key = documents.key_of(r.event.data)
        if key is None:
            continue
        documents.apply(states.setdefault(key, documents.new_state(key)), r.event.data)
    # the index stores each state as JSON: compare in that form
    return {k: orjson.loads(orjson.dumps(v)) for k, v in states.items()}


def search_live(path: str) -> tuple[Search, dict[str, Any], list[str]]:
    """(states by key, the committed position document, keys stored more than once)."""
    live = SearchIndex.open_readonly(path)
    live.index.reload()
    searcher = live.searcher()
    states: Search = {}
    twice: list[str] = []
    n = searcher.num_docs
    if n:
        for _score, addr in searcher.search(tantivy.Query.all_query(), n, count=False).hits:
            doc = searcher.doc(addr)
            key = doc_key(doc)
            if key == META_KEY:
                continue
            if key in states:
                twice.append(key)
            states[key] = orjson.loads(doc_state(doc))
    return states, live.meta(), twice


# ----------------------------------------------------------------------------- gatherings

#: record id ("<gathering>|<occurrence>|<user>") → (status, ticket, sequence)
Rsvps = dict[str, tuple[str, int, int]]


def _record_id(d: gx.RsvpChanged | gx.MemberCheckedIn) -> str:
    assert d.occurrence is not None
    return f"{d.gathering_id}|{int(d.occurrence.timestamp())}|{d.user_id}"


def gatherings_oracle(events: list[Received]) -> Rsvps:
    """Each member's RSVP record: the newest sequence's status and ticket."""
    out: Rsvps = {}
    for r in events:
        d = r.event.data
        if isinstance(d, gx.RsvpChanged | gx.MemberCheckedIn) and d.sequence is not None:
            rid = _record_id(d)
            status, ticket, seq = out.get(rid, ("none", 0, 0))
            if d.sequence > seq:
                if isinstance(d, gx.RsvpChanged):
                    status, ticket = d.to_status, d.ticket or 0
                out[rid] = (status, ticket, d.sequence)
    return out


async def gatherings_live(mongo: AsyncMongoClient[dict[str, Any]], db: str) -> Rsvps:
    return {
        d["_id"]: (d["status"], int(d["ticket"]), int(d["sequence"]))
        async for d in mongo[db]["rsvps"].find({})
    }


def gatherings_invariants(events: list[Received], docs: list[dict[str, Any]]) -> list[str]:
    """What the seats must satisfy whatever happened, from the distinct events and the hot
    gathering documents: per record, changes numbered 1..n once each and chained (each
    starts from the status the previous one left: no decision applied twice); per
    occurrence, the document's seats_taken = the members seated ≤ capacity and its
    waitlist length = the members waitlisted, no member both, every seat to an earlier
    arrival than any waitlist place; one SeatOffered per promotion; nothing left pending."""
    out: list[str] = []
    changes: dict[str, list[gx.RsvpChanged | gx.MemberCheckedIn]] = defaultdict(list)
    offered: list[tuple[str, str]] = []
    promoted: list[tuple[str, str]] = []
    for r in events:
        d = r.event.data
        if isinstance(d, gx.RsvpChanged | gx.MemberCheckedIn) and d.sequence is not None:
            changes[_record_id(d)].append(d)
            if isinstance(d, gx.RsvpChanged) and d.promoted:
                promoted.append((d.gathering_id, d.user_id))
        elif isinstance(d, gx.SeatOffered):
            offered.append((d.gathering_id, d.user_id))
    state: dict[str, dict[str, list[tuple[int, str]]]] = defaultdict(lambda: defaultdict(list))
    for rid, ds in changes.items():
        seqs = sorted(d.sequence or 0 for d in ds)
        if seqs != list(range(1, len(ds) + 1)):
            out.append(f"gatherings record {rid!r}: changes numbered {seqs}")
        status = "none"
        ticket = 0
        for d in sorted(ds, key=lambda d: d.sequence or 0):
            if isinstance(d, gx.RsvpChanged):
                if d.from_status != status:
                    out.append(
                        f"gatherings record {rid!r}: change {d.sequence} from {d.from_status}"
                        f" but the record was {status}"
                    )
                status, ticket = d.to_status, d.ticket or 0
        gathering, occ, user = rid.split("|", 2)
        state[f"{gathering}|{occ}"][status].append((ticket, user))
    if sorted(offered) != sorted(promoted):
        out.append(f"gatherings: {len(offered)} SeatOffered for {len(promoted)} promotions")
    for doc in docs:
        if doc.get("pending"):
            out.append(f"gathering {doc['_id']!r}: {len(doc['pending'])} changes left pending")
        for occ, seats in (doc.get("seats") or {}).items():
            st = state.get(f"{doc['_id']}|{occ}", {})
            going, waiting = st.get("going", []), st.get("waitlisted", [])
            cap = doc.get("capacity")
            if seats["seats_taken"] != len(going):
                out.append(
                    f"gathering {doc['_id']!r} {occ}: seats_taken {seats['seats_taken']}"
                    f" != {len(going)} members going"
                )
            if cap is not None and len(going) > cap:
                out.append(f"gathering {doc['_id']!r} {occ}: {len(going)} going > capacity {cap}")
            if seats["waitlisted"] != len(waiting):
                out.append(
                    f"gathering {doc['_id']!r} {occ}: waitlist length {seats['waitlisted']}"
                    f" != {len(waiting)} members waitlisted"
                )
            both = {u for _, u in going} & {u for _, u in waiting}
            if both:
                out.append(f"gathering {doc['_id']!r} {occ}: seated and waitlisted: {both}")
            if going and waiting and max(going)[0] > min(waiting)[0]:
                out.append(f"gathering {doc['_id']!r} {occ}: a later arrival holds a seat")
            if cap is not None and waiting and len(going) < cap:
                out.append(f"gathering {doc['_id']!r} {occ}: a free seat and a waitlist")
    return out
