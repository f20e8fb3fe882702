"""OpenTelemetry setup, configured only by the standard ``OTEL_*`` variables.

* A ``TracerProvider`` is always installed (so W3C context flows through Kafka headers and
  log lines carry trace ids even when nothing is exported).
* An OTLP/HTTP exporter is added only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` or
  ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set (and ``OTEL_TRACES_EXPORTER`` is not
  ``none``; ``OTEL_SDK_DISABLED=true`` disables export too). ``OTEL_TRACES_EXPORTER=console``
  prints spans to stdout for debugging.
* Sampler: ``OTEL_TRACES_SAMPLER`` / ``OTEL_TRACES_SAMPLER_ARG`` (read by the SDK itself,
  default ``parentbased_always_on``).
* Resource: ``service.name`` (the service's own name unless ``OTEL_SERVICE_NAME`` is set),
  ``service.version`` (the installed distribution's version), ``service.namespace``;
  ``OTEL_RESOURCE_ATTRIBUTES`` adds more.
* PyMongo is instrumented *before* any client exists (global command listeners are copied
  into a client when it is constructed). Verified: the listener also sees
  ``AsyncMongoClient`` commands, and their CLIENT spans nest under the current span.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.trace import Link, SpanKind

from .logs import setup_logging

_provider: TracerProvider | None = None
_extra_processors: list[SpanProcessor] = []


def add_span_processor(processor: SpanProcessor) -> None:
    """Tests add an in-memory exporter here (before or after :func:`setup_tracing`)."""
    _extra_processors.append(processor)
    if _provider is not None:
        _provider.add_span_processor(processor)


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def exporters_from_env(environ: Mapping[str, str] | None = None) -> list[SpanExporter]:
    """The span exporters the standard ``OTEL_*`` variables ask for (none when unset)."""
    env = os.environ if environ is None else environ
    if _truthy(env.get("OTEL_SDK_DISABLED")):
        return []
    names = {
        n.strip().lower() for n in env.get("OTEL_TRACES_EXPORTER", "otlp").split(",") if n.strip()
    }
    out: list[SpanExporter] = []
    if "none" in names:
        return out
    if "otlp" in names and (
        env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    ):
        # the exporter reads endpoint, headers, timeout and compression from OTEL_* itself
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        out.append(OTLPSpanExporter())
    if "console" in names:
        out.append(ConsoleSpanExporter())
    return out


def make_resource(
    service_name: str, package: str | None = None, environ: Mapping[str, str] | None = None
) -> Resource:
    """``service.name`` (``OTEL_SERVICE_NAME`` wins), ``service.version``, namespace."""
    env = os.environ if environ is None else environ
    try:
        svc_version = version(package or f"community-{service_name}")
    except PackageNotFoundError:
        svc_version = "0.0.0"
    attrs: dict[str, Any] = {"service.version": svc_version, "service.namespace": "community"}
    if not env.get("OTEL_SERVICE_NAME"):
        # Resource.create lets explicit attributes override the environment; leave the
        # name out so OTEL_SERVICE_NAME (read by the SDK's env detector) applies.
        attrs["service.name"] = service_name
    return Resource.create(attrs)


def build_provider(
    service_name: str, package: str | None = None, environ: Mapping[str, str] | None = None
) -> TracerProvider:
    """A tracer provider with the exporters ``OTEL_*`` asks for (not installed globally)."""
    provider = TracerProvider(resource=make_resource(service_name, package, environ))
    for exporter in exporters_from_env(environ):
        if isinstance(exporter, ConsoleSpanExporter):
            provider.add_span_processor(SimpleSpanProcessor(exporter))
        else:
            provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def setup_tracing(service_name: str, package: str | None = None) -> TracerProvider:
    """Install the process-wide tracer provider once; later calls return it."""
    global _provider
    if _provider is not None:
        return _provider
    provider = build_provider(service_name, package)
    for p in _extra_processors:
        provider.add_span_processor(p)
    trace.set_tracer_provider(provider)
    _provider = provider

    from opentelemetry.instrumentation.pymongo import PymongoInstrumentor

    instrumentor = PymongoInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(tracer_provider=provider)
    return provider


def flush(timeout_millis: int = 5000) -> None:
    """Export what is buffered (called at shutdown; the SDK also flushes at exit)."""
    if _provider is not None:
        _provider.force_flush(timeout_millis)


def tracer(name: str = "communitykit") -> trace.Tracer:
    return trace.get_tracer(name)


@contextmanager
def untraced() -> Iterator[None]:
    """No instrumentation spans inside (background polls, scrapes, health checks): they
    would each start a new root trace every few seconds."""
    with suppress_instrumentation():
        yield


def inject_headers() -> dict[str, str]:
    """W3C ``traceparent``/``tracestate`` of the current context."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def extract_context(
    headers: Iterable[tuple[str, bytes]] | Mapping[str, str],
) -> otel_context.Context:
    if isinstance(headers, Mapping):
        carrier = dict(headers)
    else:
        carrier = {k: v.decode("utf-8", "replace") for k, v in headers if v is not None}
    return propagate.extract(carrier)


def has_span(ctx: otel_context.Context) -> bool:
    return trace.get_current_span(ctx).get_span_context().is_valid


def links_from(contexts: Iterable[otel_context.Context]) -> list[Link]:
    links = []
    for ctx in contexts:
        sc = trace.get_current_span(ctx).get_span_context()
        if sc.is_valid:
            links.append(Link(sc))
    return links


__all__ = [
    "SpanKind",
    "add_span_processor",
    "build_provider",
    "exporters_from_env",
    "extract_context",
    "flush",
    "has_span",
    "inject_headers",
    "links_from",
    "make_resource",
    "setup_logging",
    "setup_tracing",
    "untraced",
]
