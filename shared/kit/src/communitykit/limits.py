"""Abuse and overload protection for every service: per-user write rate limits (429) and a
bounded number of in-flight requests per process (503).

Both answer at once with problem+json and ``Retry-After`` (whole seconds): a client is told
when to come back instead of waiting into a timeout, and nothing is queued.

Both are **per process** (per replica): nothing is written to the store or sent over the
network per request. With N replicas behind a load balancer a user can make up to N times
the per-user rate in the worst case (round-robin spreads a user's writes, so in practice
about the configured rate); size the settings per replica.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from . import metrics
from .problems import PROBLEM_JSON, ProblemError

#: methods that change state: the ones a per-user write limit counts
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class RateLimitedError(ProblemError):
    status, title = 429, "Too many requests"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class WriteRateLimiter:
    """Per-user limit with a burst: the generic cell rate algorithm (GCRA, a token bucket
    kept as one float per user: the *theoretical arrival time* of the user's next write).

    ``rate_per_minute`` writes a minute sustained, ``burst`` at once after a quiet spell.
    One dict lookup and one float store per write; users whose bucket has refilled are
    dropped once the table holds ``max_users`` entries, so memory stays bounded.
    """

    def __init__(
        self,
        rate_per_minute: float,
        burst: int,
        *,
        max_users: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate_per_minute <= 0 or burst < 1:
            raise ValueError("rate_per_minute must be > 0 and burst >= 1")
        self.interval = 60.0 / rate_per_minute
        # how far ahead of now the arrival time may run: burst - 1 writes beyond the current
        self.tolerance = self.interval * (burst - 1)
        self.max_users = max_users
        self.clock = clock
        self._tat: dict[str, float] = {}

    def check(self, user_id: str) -> float:
        """Count one write by ``user_id``: 0.0 if allowed, else the seconds to wait."""
        now = self.clock()
        tat = max(self._tat.get(user_id, now), now)
        wait = tat - self.tolerance - now
        if wait > 0:
            return wait
        if len(self._tat) >= self.max_users and user_id not in self._tat:
            self._prune(now)
        self._tat[user_id] = tat + self.interval
        return 0.0

    def _prune(self, now: float) -> None:
        # a user whose arrival time has passed has a full bucket: the same as no entry
        self._tat = {u: t for u, t in self._tat.items() if t > now}
        if len(self._tat) >= self.max_users:  # all busy: forget the ones closest to full
            keep = sorted(self._tat.items(), key=lambda kv: kv[1])[len(self._tat) // 2 :]
            self._tat = dict(keep)

    def charge(self, user_id: str) -> None:
        """Raise 429 (``RateLimitedError``) when ``user_id`` is over the limit."""
        wait = self.check(user_id)
        if wait > 0:
            metrics.RATE_LIMITED.inc()
            raise RateLimitedError(
                "too many writes: slow down and retry after the time in Retry-After",
                retry_after=max(1, math.ceil(wait)),
            )


def _problem_body(status: int, title: str, detail: str) -> bytes:
    return orjson.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail})


class InFlightLimit:
    """ASGI middleware: at most ``max_in_flight`` HTTP requests are handled at once by this
    process; one more is answered 503 + ``Retry-After`` at once (load shedding) instead of
    waiting behind the others until the client times out. Health, readiness and metrics
    (``exempt`` paths) are never shed: a busy replica is still alive and ready."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_in_flight: int,
        retry_after_seconds: int = 1,
        exempt: frozenset[str] = frozenset({"/healthz", "/readyz", "/metrics"}),
    ) -> None:
        self.app = app
        self.max_in_flight = max_in_flight
        self.retry_after = str(max(1, retry_after_seconds))
        self.exempt = exempt
        self.in_flight = 0
        self._body = _problem_body(
            503,
            "Service unavailable",
            "the service is at capacity: retry after the time in Retry-After",
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.max_in_flight:
            metrics.SHED_REQUESTS.inc()
            await self._shed(send)
            return
        self.in_flight += 1
        metrics.HTTP_IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
            metrics.HTTP_IN_FLIGHT.dec()

    async def _shed(self, send: Send) -> None:
        headers: list[tuple[bytes, bytes]] = [
            (b"content-type", PROBLEM_JSON.encode()),
            (b"content-length", str(len(self._body)).encode()),
            (b"retry-after", self.retry_after.encode()),
        ]
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": self._body})
