"""The demo's executor: runs a plan against the services over HTTP, at a steady rate.

Open loop: step ``i`` starts at ``i / rate`` seconds (a slow service makes steps queue up,
it does not slow the arrivals down), at most ``concurrency`` requests in flight. A user
acts one step at a time, in plan order (a per-user FIFO lock taken in plan order), so a
question's author never accepts before the answer exists; a step first waits for the ids of
the references it needs (created by earlier steps, see plan.py).

Every response is classified: 2xx is ``ok``; 429 is ``throttled`` (a rate limit doing its
job: the step is not retried); anything else (4xx the plan did not expect, 5xx, a transport
error) is an **error**, kept with its first messages for the summary.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from communitykit.auth import make_token

from .plan import Step, User


@dataclass
class Urls:
    forum: str = "http://127.0.0.1:8001"
    ideas: str = "http://127.0.0.1:8002"
    reputation: str = "http://127.0.0.1:8003"
    analytics: str = "http://127.0.0.1:8004"
    search: str = "http://127.0.0.1:8005"
    gatherings: str = "http://127.0.0.1:8006"
    media: str = "http://127.0.0.1:8007"
    notifications: str = "http://127.0.0.1:8008"


@dataclass
class Tally:
    requests: Counter[str] = field(default_factory=Counter)  # "kind" -> count
    ok: Counter[str] = field(default_factory=Counter)
    throttled: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)  # "kind status" -> count
    error_samples: list[str] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    #: "kind" -> writes an earlier demo run on the same store already made (409 where the
    #: API allows one per member, e.g. a member's review of a product)
    repeated: Counter[str] = field(default_factory=Counter)
    deflected: int = 0
    latencies: dict[str, list[float]] = field(default_factory=dict)

    @property
    def total_errors(self) -> int:
        return sum(self.errors.values())


class StepSkipped(Exception):
    """A step whose target was never created (its creating step failed or was deflected)."""


class Simulator:
    def __init__(
        self,
        urls: Urls,
        users: list[User],
        secret: str,
        *,
        concurrency: int = 32,
        timeout: float = 30,
    ) -> None:
        self.urls = urls
        self.tally = Tally()
        self._tokens = {
            u.name: {"Authorization": f"Bearer {make_token(secret, u.name, roles=list(u.roles))}"}
            for u in users
        }
        self._locks = {u.name: asyncio.Lock() for u in users}
        self._refs: dict[str, asyncio.Future[str | None]] = {}
        self._slots = asyncio.Semaphore(concurrency)
        self._http = httpx.AsyncClient(
            timeout=timeout, limits=httpx.Limits(max_connections=concurrency)
        )

    async def close(self) -> None:
        await self._http.aclose()

    # --- notifications (issue 25) ---------------------------------------------------------

    async def notification_preferences(self, users: list[User]) -> None:
        """Every member gives an address (mail lands in `make up`'s Maildir); every third
        one asks for quiet, every fifth for digests only."""
        for i, u in enumerate(users):
            preset = "digest_only" if i % 5 == 4 else "quiet" if i % 3 == 2 else "balanced"
            await self.call(
                "notifications.preferences", "PUT", f"{self.urls.notifications}/me/preferences",
                u.name, json={"preset": preset, "email": f"{u.name}@demo.test"},
            )  # fmt: skip

    async def read_some(self, users: list[User]) -> list[dict[str, Any]]:
        """Members look at their inbox; every other one opens the newest entry (the budget
        grows back), the others ignore theirs (it shrinks). What each was held back."""
        out = []
        for i, u in enumerate(users):
            base = self.urls.notifications
            r = await self.call("notifications.inbox", "GET", f"{base}/me/notifications", u.name)
            if r is None:
                continue
            page = r.json()
            if i % 2 == 0 and page["items"]:
                entry = page["items"][0]["id"]
                await self.call(
                    "notifications.read", "POST", f"{base}/me/notifications/{entry}/read", u.name
                )
            b = await self.call("notifications.budget", "GET", f"{base}/me/notifications/budget",
                                u.name)  # fmt: skip
            if b is not None:
                out.append({"user": u.name, "read": i % 2 == 0, "unread": page["unread"],
                            **b.json()})  # fmt: skip
        return out

    # --- plumbing -------------------------------------------------------------------------

    def _ref(self, name: str) -> asyncio.Future[str | None]:
        if name not in self._refs:
            self._refs[name] = asyncio.get_running_loop().create_future()
        return self._refs[name]

    def _resolve(self, name: str, value: str | None) -> None:
        fut = self._ref(name)
        if not fut.done():
            fut.set_result(value)

    async def _need(self, name: str) -> str:
        value = await self._ref(name)
        if value is None:
            raise StepSkipped(name)
        return value

    async def call(
        self,
        kind: str,
        method: str,
        url: str,
        user: str | None = None,
        *,
        once_per_member: bool = False,
        **kw: Any,
    ) -> httpx.Response | None:
        """One request; its outcome counted under ``kind``; the response when 2xx.
        ``once_per_member``: a 409 means an earlier run already made it (counted apart)."""
        self.tally.requests[kind] += 1
        headers = self._tokens[user] if user else None
        t = time.perf_counter()
        try:
            async with self._slots:
                r = await self._http.request(method, url, headers=headers, **kw)
        except httpx.HTTPError as e:
            self._error(kind, type(e).__name__, f"{method} {url}: {e!r}")
            return None
        self.tally.latencies.setdefault(kind, []).append(time.perf_counter() - t)
        if r.is_success:
            self.tally.ok[kind] += 1
            return r
        if r.status_code == 429:
            self.tally.throttled[kind] += 1
            return None
        if once_per_member and r.status_code == 409:
            self.tally.repeated[kind] += 1
            return None
        self._error(kind, str(r.status_code), f"{method} {url} by {user}: {r.text[:300]}")
        return None

    async def raw(
        self, method: str, url: str, user: str | None = None, **kw: Any
    ) -> httpx.Response:
        """A request that is not counted (polling for a projection or a worker)."""
        headers = self._tokens[user] if user else None
        async with self._slots:
            return await self._http.request(method, url, headers=headers, **kw)

    def _error(self, kind: str, status: str, detail: str) -> None:
        self.tally.errors[f"{kind} {status}"] += 1
        if len(self.tally.error_samples) < 10:
            self.tally.error_samples.append(detail)

    # --- running a plan -------------------------------------------------------------------

    async def run(
        self, plan: list[Step], rate: float, progress: Callable[[], None] | None = None
    ) -> float:
        """Every step of ``plan`` at ``rate`` steps/s; returns the seconds it took."""
        start = time.perf_counter()
        tasks = []
        for step in plan:
            delay = start + step.index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            # the user's lock is requested now, in plan order (asyncio.Lock is FIFO)
            tasks.append(asyncio.create_task(self._one(step, progress)))
            await asyncio.sleep(0)
        await asyncio.gather(*tasks)
        return time.perf_counter() - start

    async def _one(self, step: Step, progress: Callable[[], None] | None) -> None:
        try:
            async with self._locks[step.user]:
                await getattr(self, f"do_{step.action}")(step)
        except StepSkipped:
            self.tally.skipped[step.action] += 1
        finally:
            # whatever happened, nothing waits forever for what this step should create
            if step.creates:
                self._resolve(step.creates, None)
                self._resolve(f"{step.creates}.post", None)
            if progress:
                progress()

    # --- the actions ----------------------------------------------------------------------

    async def do_browse(self, s: Step) -> None:
        f = self.urls.forum
        await self.call("list threads", "GET", f"{f}/threads", params={"sort": s.args["sort"]})
        if s.args["thread"]:
            tid = await self._need(s.args["thread"])
            await self.call("read thread", "GET", f"{f}/threads/{tid}", s.user)

    async def do_search(self, s: Step) -> None:
        await self.call("search", "GET", f"{self.urls.search}/search", params={"q": s.args["q"]})

    async def do_thread(self, s: Step) -> None:
        a = s.args
        if a["kind"] == "question":
            # search before asking (GET /similar); a solved match may answer the question
            r = await self.call(
                "similar", "GET", f"{self.urls.search}/similar", params={"title": a["title"]}
            )
            solved = [
                i for i in (r.json()["items"] if r else []) if i["type"] == "thread" and i["solved"]
            ]
            if solved and a["deflect"]:
                self.tally.deflected += 1
                await self.call(
                    "read thread", "GET", f"{self.urls.forum}/threads/{solved[0]['id']}", s.user
                )
                return
        body = {
            k: a[k] for k in ("kind", "title", "body", "tags", "product_id", "rating") if k in a
        }
        kind = {"question": "ask", "review": "review product"}.get(a["kind"], "discuss")
        r = await self.call(
            kind,
            "POST",
            f"{self.urls.forum}/threads",
            s.user,
            json=body,
            once_per_member=kind == "review product",
        )
        if r is not None and s.creates:
            out = r.json()
            self._resolve(s.creates, out["thread_id"])
            self._resolve(f"{s.creates}.post", out["post_id"])

    async def _reply(self, s: Step, kind: str) -> None:
        tid = await self._need(s.needs[0])
        r = await self.call(
            kind,
            "POST",
            f"{self.urls.forum}/threads/{tid}/replies",
            s.user,
            json={"body": s.args["body"]},
        )
        if r is not None and s.creates:
            self._resolve(s.creates, r.json()["post_id"])

    async def do_reply(self, s: Step) -> None:
        await self._reply(s, "answer")

    async def do_support(self, s: Step) -> None:
        # the support queue first, as an agent would look at it
        await self.call("support queue", "GET", f"{self.urls.forum}/escalations", s.user)
        await self._reply(s, "support answer")

    async def do_vote(self, s: Step) -> None:
        pid = await self._need(s.needs[0])
        await self.call(
            "vote",
            "PUT",
            f"{self.urls.forum}/posts/{pid}/vote",
            s.user,
            json={"value": s.args["value"]},
        )

    async def do_accept(self, s: Step) -> None:
        tid, pid = await self._need(s.needs[0]), await self._need(s.needs[1])
        await self.call(
            "accept",
            "PUT",
            f"{self.urls.forum}/threads/{tid}/accepted-answer",
            s.user,
            json={"post_id": pid},
        )

    async def do_escalate(self, s: Step) -> None:
        tid = await self._need(s.needs[0])
        await self.call("escalate", "POST", f"{self.urls.forum}/threads/{tid}/escalate", s.user)

    async def do_idea(self, s: Step) -> None:
        await self.call(
            "similar", "GET", f"{self.urls.search}/similar", params={"title": s.args["title"]}
        )
        r = await self.call("submit idea", "POST", f"{self.urls.ideas}/ideas", s.user, json=s.args)
        if r is not None and s.creates:
            self._resolve(s.creates, r.json()["idea_id"])

    async def do_idea_vote(self, s: Step) -> None:
        iid = await self._need(s.needs[0])
        await self.call(
            "vote idea",
            "PUT",
            f"{self.urls.ideas}/ideas/{iid}/vote",
            s.user,
            json={"value": s.args["value"]},
        )

    async def do_idea_status(self, s: Step) -> None:
        iid = await self._need(s.needs[0])
        await self.call(
            "move idea status",
            "PUT",
            f"{self.urls.ideas}/ideas/{iid}/status",
            s.user,
            json={"status": s.args["status"], "note": "triaged in the demo"},
        )

    async def do_leaderboard(self, s: Step) -> None:
        await self.call(
            "leaderboard", "GET", f"{self.urls.reputation}/leaderboard", params={"limit": 10}
        )
