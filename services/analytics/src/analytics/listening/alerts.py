"""Emerging issues → ``analytics.events`` (issue 26 item 3), through the outbox.

After a batch, every product and tag whose day the batch touched is checked against the
spike rule (domain.rules): one read of those days' sentiment documents, and for the few
that reach the minimum, one read of their baseline days. A spike day becomes ONE document
``listening_alerts/<kind>|<dim>|<key>|<day>``; the first day of a spike is inserted
together with its outbox entry (communitykit.outbox: the relay publishes it): the unique
``_id`` makes "the same spike never publishes twice" hold under redelivery, replicas racing
and restarts alike.

A spike is a run of consecutive spiking days: one that spans midnight spikes on both days.
The day after a spiking day (by the same rule on the stored counts, so live and rebuild
agree) continues its spike: it is recorded with ``continues`` (the day before's alert id)
and no outbox entry, and is not listed as an alert of its own. A day whose next day was
alerted already (its events came late) is recorded as continuing that alert too.

A spike of a day long past (a catch-up after downtime, a new deployment reading history)
is recorded without an outbox entry: staff are told about what is happening now, not about
last month. A rebuild never publishes (``publish=False``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from communitykit.outbox import outbox_fields
from schemas import new_event, topics
from schemas.analytics import SentimentDropped, TrendDetected

from .domain.changes import ALERTS, SENTIMENT
from .domain.events import ALERTED
from .domain.rules import SpikeRule, baseline_days, spike
from .domain.sentiment import SCALE

Doc = dict[str, Any]
#: (kind, counter field)
KINDS = (("questions", "q"), ("negative", "neg"))
#: an alert's example threads
EXAMPLES = 5
#: spikes of days older than this (before today, UTC) are recorded but not published
FRESH_DAYS = 1


def alert_id(kind: str, dim: str, key: str, day: str) -> str:
    return f"{kind}|{dim}|{key}|{day}"


class Alerts:
    def __init__(
        self,
        db: AsyncDatabase[Doc],
        *,
        rule: SpikeRule | None = None,
        publish: bool = True,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_published: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.rule = rule or SpikeRule()
        self.publish = publish
        self.now = now
        self.on_published = on_published
        #: alert ids known to exist (a spike already recorded needs no read or insert)
        self._known: set[str] = set()
        self._examples: Mapping[str, Iterable[str]] = {}

    async def check(
        self, sentiment_ids: Iterable[str], examples: Mapping[str, Iterable[str]] | None = None
    ) -> list[str]:
        """Check the touched sentiment documents; return the ids of alerts created.
        ``examples``: per alert id, threads of the batch's items that make it."""
        self._examples = examples or {}
        ids = sorted(i for i in sentiment_ids if i.split("|", 1)[0] in ALERTED)
        if not ids:
            return []
        docs = await self.db[SENTIMENT].find({"_id": {"$in": ids}}, {"seq": 0}).to_list(None)
        todo: list[tuple[str, str, str, Doc]] = []
        for d in docs:
            for kind, counter in KINDS:
                aid = alert_id(kind, d["dim"], d["key"], d["day"])
                if aid not in self._known and d.get(counter, 0) >= self.rule.min_count:
                    todo.append((kind, counter, aid, d))
        if not todo:
            return []
        # the baseline days, and the day before's own baseline (does it spike too?)
        n = self.rule.baseline_days
        base_ids = sorted(
            {
                f"{d['dim']}|{day}|{d['key']}"
                for _, _, _, d in todo
                for day in baseline_days(d["day"], n + 1)
            }
        )
        base = {
            b["_id"]: b
            async for b in self.db[SENTIMENT].find(
                {"_id": {"$in": base_ids}}, {"n": 1, "c": 1, "q": 1, "neg": 1}
            )
        }
        nexts = sorted({alert_id(k, d["dim"], d["key"], _next(d["day"])) for k, _, _, d in todo})
        alerted = {
            a["_id"]: a
            async for a in self.db[ALERTS].find({"_id": {"$in": nexts}}, {"continues": 1})
        }
        created = []
        for kind, counter, aid, d in sorted(todo, key=lambda x: x[3]["day"]):
            days = baseline_days(d["day"], n + 1)
            counts = [
                int(base.get(f"{d['dim']}|{day}|{d['key']}", {}).get(counter, 0)) for day in days
            ]
            found = spike(int(d[counter]), counts[1:], self.rule)
            if found is None:
                continue
            continues = None
            if spike(counts[-1], counts[:-1], self.rule) is not None:
                continues = alert_id(kind, d["dim"], d["key"], days[-1])
            elif (nxt := alert_id(kind, d["dim"], d["key"], _next(d["day"]))) in alerted:
                continues = nxt
            before = [base.get(f"{d['dim']}|{day}|{d['key']}", {}) for day in days[1:]]
            if await self._record(
                kind, aid, d, found.count, found.baseline, found.lift, before, continues
            ):
                created.append(aid)
            if len(self._known) >= 100_000:
                self._known.clear()  # only saves reads: the unique _id is the guarantee
            self._known.add(aid)
        return created

    async def _record(
        self,
        kind: str,
        aid: str,
        d: Doc,
        count: int,
        baseline: float,
        lift: float,
        before: list[Doc],
        continues: str | None = None,
    ) -> bool:
        # the examples: threads of the batch that found the spike (what made it)
        threads = sorted(self._examples.get(aid, ()))[:EXAMPLES]
        common = {
            "alert_id": aid,
            "dimension": d["dim"],
            "key": d["key"],
            "day": d["day"],
            "count": count,
            "baseline": baseline,
            "baseline_days": self.rule.baseline_days,
            "lift": lift,
            "thread_ids": threads,
        }
        data: TrendDetected | SentimentDropped
        if kind == "questions":
            data = TrendDetected(**common)
        else:
            n_before = sum(int(b.get("n", 0)) for b in before)
            c_before = sum(int(b.get("c", 0)) for b in before)
            data = SentimentDropped(
                **common,
                mean_compound=round(int(d.get("c", 0)) / SCALE / max(1, int(d["n"])), 4),
                baseline_mean_compound=(
                    round(c_before / SCALE / n_before, 4) if n_before else None
                ),
            )
        now = self.now()
        fresh = date.fromisoformat(d["day"]) >= (now.date() - timedelta(days=FRESH_DAYS))
        publish = self.publish and fresh and continues is None
        doc: Doc = {
            "_id": aid,
            "type": data.event_name,
            "kind": kind,
            "dim": d["dim"],
            "key": d["key"],
            "day": d["day"],
            "detected_at": now,
            "published": publish,
            "data": data.model_dump(mode="json"),
        }
        if continues is not None:
            doc["continues"] = continues
        if publish:
            event = new_event(data, subject=d["key"], time=now)
            # the alert and its event in ONE insert (outbox): the relay publishes it, and
            # the unique _id means a spike is recorded, and so published, at most once
            doc.update(outbox_fields(topics.ANALYTICS_EVENTS, [event]))
        try:
            await self.db[ALERTS].insert_one(doc)
        except DuplicateKeyError:
            return False
        if publish and self.on_published:
            self.on_published()
        return True


def _next(day: str) -> str:
    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()
