"""Service runtime and FastAPI app factory: one bootstrap shape for every service.

Nothing connects at import time: clients are created in the FastAPI lifespan (an
``AsyncMongoClient`` is bound to the event loop that first uses it).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from types import FrameType
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from schemas import asyncapi

from . import metrics, openapi, problems
from .kafka import Producer, ensure_topics, kafka_ready
from .limits import InFlightLimit, WriteRateLimiter
from .metrics import RedMetrics
from .outbox import OutboxRelay, outbox_stats
from .settings import ServiceSettings
from .telemetry import flush, setup_logging, setup_tracing, untraced

log = logging.getLogger(__name__)

Hook = Callable[["Runtime"], Awaitable[None]]

#: how often ``consumer_lag`` is recomputed for every assigned partition (it is also updated
#: after each batch for the batch's partitions)
LAG_REFRESH_SECONDS = 5.0


class Runtime:
    """Connections and background work of one service process."""

    def __init__(
        self,
        settings: ServiceSettings,
        *,
        outbox_collections: Sequence[str] = (),
        lag_refresh_seconds: float = LAG_REFRESH_SECONDS,
    ) -> None:
        self.settings = settings
        self.lag_refresh_seconds = lag_refresh_seconds
        self.outbox_collections = list(outbox_collections)
        # telemetry first: PyMongo listeners are copied into a client when it is created
        setup_tracing(settings.service_name)
        self.mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            settings.mongodb_url,
            serverSelectionTimeoutMS=5000,
            tz_aware=True,
            event_listeners=[metrics.StoreCommands()],
        )
        self.db: AsyncDatabase[dict[str, Any]] = self.mongo[settings.mongodb_database]
        self.producer = Producer(settings.kafka_bootstrap_servers, settings.service_name)
        # consumers are registered on this broker by the service before start()
        self.broker = KafkaBroker(
            settings.kafka_bootstrap_servers,
            client_id=settings.service_name,
            allow_auto_create_topics=False,
            graceful_timeout=15.0,
            # a plain stdlib logger: its records reach the root JSON handler (trace ids
            # included) instead of FastStream's coloured stdout handler
            logger=logging.getLogger("faststream.kafka"),
        )
        self.relay: OutboxRelay | None = (
            OutboxRelay(
                self.db,
                self.outbox_collections,
                self.producer,
                poll_seconds=settings.outbox_poll_seconds,
            )
            if self.outbox_collections
            else None
        )
        self.tasks: list[asyncio.Task[Any]] = []

    def notify_outbox(self, *collections: str) -> None:
        """After a local write: wake the relay; name the outbox collections written when
        known (the relay then reads only those; none named: every one)."""
        if self.relay:
            self.relay.notify(*collections)

    async def start(self, on_start: Sequence[Hook] = ()) -> None:
        await ensure_topics(self.settings.kafka_bootstrap_servers)
        await self.producer.start()
        if self.relay:
            await self.relay.ensure_indexes()
        for hook in on_start:
            await hook(self)
        if self.relay:
            self.relay.start()
        if self.broker.subscribers:
            await self.broker.start()
            self.tasks.append(asyncio.create_task(self._refresh_lag(), name="consumer-lag"))

    async def _refresh_lag(self) -> None:
        while True:
            await asyncio.sleep(self.lag_refresh_seconds)
            try:
                await metrics.refresh_consumer_lag(self.broker)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.debug("consumer lag refresh failed", exc_info=True)

    async def stop(self, on_stop: Sequence[Hook] = ()) -> None:
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for hook in on_stop:
            await hook(self)
        await self.broker.stop()
        if self.relay:
            await self.relay.stop()
        await self.producer.stop()
        await self.mongo.close()
        flush()

    async def ready(self) -> dict[str, bool]:
        async def mongo_ok() -> bool:
            try:
                with untraced():  # probes every few seconds: no root trace each time
                    await asyncio.wait_for(self.mongo.admin.command("ping"), 3)
                return True
            except Exception:  # noqa: BLE001
                return False

        kafka, mongo = await asyncio.gather(
            kafka_ready(self.settings.kafka_bootstrap_servers), mongo_ok()
        )
        return {"kafka": kafka, "mongodb": mongo}


def create_app(
    settings: ServiceSettings,
    *,
    title: str,
    routers: Sequence[APIRouter],
    runtime_factory: Callable[[ServiceSettings], Runtime],
    on_start: Sequence[Hook] = (),
    on_stop: Sequence[Hook] = (),
) -> FastAPI:
    """The FastAPI app of a service, with health, readiness, metrics and problem+json."""
    setup_logging(settings.log_level, settings.service_name)
    # before any instrumentation or Mongo client exists (see telemetry)
    provider = setup_tracing(settings.service_name)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = runtime_factory(settings)
        app.state.runtime = runtime
        await runtime.start(on_start)
        log.info("%s started", settings.service_name)
        try:
            yield
        finally:
            await runtime.stop(on_stop)

    app = FastAPI(title=title, version="1.0.0", lifespan=lifespan)
    app.state.settings = settings
    problems.install(app)

    # RED metrics as plain ASGI middleware: a ``@app.middleware("http")`` function runs
    # every request through Starlette's BaseHTTPMiddleware (a task group and memory streams
    # per request), about a millisecond of CPU per request on these machines
    app.add_middleware(RedMetrics)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        checks = await request.app.state.runtime.ready()
        ok = all(checks.values())
        return JSONResponse(
            {"status": "ready" if ok else "not ready", **checks}, status_code=200 if ok else 503
        )

    # the part of the system's AsyncAPI document this service owns (what it publishes and
    # consumes), from the copy shipped with the schemas package
    @app.get("/asyncapi.json", include_in_schema=False)
    async def asyncapi_document() -> JSONResponse:
        return JSONResponse(_asyncapi_part(settings.service_name))

    @app.get("/metrics", include_in_schema=False)
    async def metrics_endpoint(request: Request) -> Response:
        runtime: Runtime = request.app.state.runtime
        if runtime.outbox_collections:
            origin = metrics.ORIGIN.set("metrics")  # a scrape is not the requests' work
            try:
                with untraced():
                    backlog, age = await outbox_stats(runtime.db, runtime.outbox_collections)
                metrics.OUTBOX_BACKLOG.set(backlog)
                metrics.OUTBOX_OLDEST_AGE.set(age)
            except Exception:
                log.warning("outbox stats unavailable", exc_info=True)
            finally:
                metrics.ORIGIN.reset(origin)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    # per-user write limit, charged by communitykit.auth.current_user (429 + Retry-After)
    app.state.write_limiter = (
        WriteRateLimiter(settings.write_rate_per_minute, settings.write_burst)
        if settings.write_rate_per_minute > 0
        else None
    )
    if settings.max_in_flight_requests > 0:
        # added last: the outermost middleware, so a shed request costs no other work
        app.add_middleware(
            InFlightLimit,
            max_in_flight=settings.max_in_flight_requests,
            retry_after_seconds=settings.overload_retry_after_seconds,
        )

    for r in routers:
        app.include_router(r)
    # the document states the problem+json, 401, 429 and 503 responses of every route
    openapi.install(app)
    # no internal spans per ASGI receive/send message: the server span and the store's
    # client spans already time the request; those two or three spans a request cost CPU
    # on every hot write and tell nothing more
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=provider,
        excluded_urls="healthz,readyz,metrics",
        exclude_spans=["receive", "send"],
    )
    return app


@functools.cache
def _asyncapi_part(service: str) -> dict[str, Any]:
    return asyncapi.service_document(service)


def runtime_of(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


def serve(settings: ServiceSettings, factory: Callable[[Any], FastAPI]) -> None:
    """``python -m <service>``: serve the app on the settings' host and port (JSON logs are
    configured by the app, so uvicorn's own logging config is off).

    SIGTERM (Kubernetes, `make down`) is a normal stop: uvicorn stops accepting, finishes the
    requests in flight and runs the lifespan shutdown (consumers finish and commit their
    batch, the outbox relay drains). uvicorn then raises the signal again with the handler
    that was installed before it ran; by default that killed the process (exit -15 / 143
    after a clean shutdown). The handler installed here turns it into exit 0."""
    import uvicorn

    signal.signal(signal.SIGTERM, _exit_after_shutdown)
    uvicorn.run(
        factory(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
    )


def _exit_after_shutdown(signum: int, frame: FrameType | None) -> None:
    """SIGTERM outside uvicorn's own handling (before it starts, or re-raised by it after a
    graceful shutdown): exit 0."""
    raise SystemExit(0)
