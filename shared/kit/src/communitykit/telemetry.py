"""OpenTelemetry and logging setup, configured only by the standard ``OTEL_*`` variables.

* A ``TracerProvider`` is always installed (so W3C context flows through Kafka headers even
  when nothing is exported); an OTLP/HTTP exporter is added only when
  ``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set.
  Sampler: ``OTEL_TRACES_SAMPLER`` (read by the SDK itself).
* PyMongo is instrumented *before* any client exists (global listeners are copied into a
  client when it is constructed).
* Logs are JSON lines carrying ``trace_id`` and ``span_id``.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable, Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Link, SpanKind
from pythonjsonlogger.json import JsonFormatter

_provider: TracerProvider | None = None
_extra_processors: list[SpanProcessor] = []


def add_span_processor(processor: SpanProcessor) -> None:
    """Tests add an in-memory exporter here (before or after :func:`setup_tracing`)."""
    _extra_processors.append(processor)
    if _provider is not None:
        _provider.add_span_processor(processor)


def setup_tracing(service_name: str, package: str | None = None) -> TracerProvider:
    """Install the process-wide tracer provider once; later calls return it."""
    global _provider
    if _provider is not None:
        return _provider
    try:
        svc_version = version(package or f"community-{service_name}")
    except PackageNotFoundError:
        svc_version = "0"
    attrs: dict[str, Any] = {"service.version": svc_version, "service.namespace": "community"}
    if not os.environ.get("OTEL_SERVICE_NAME"):
        attrs["service.name"] = service_name
    provider = TracerProvider(resource=Resource.create(attrs))
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    ):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    for p in _extra_processors:
        provider.add_span_processor(p)
    trace.set_tracer_provider(provider)
    _provider = provider

    from opentelemetry.instrumentation.pymongo import PymongoInstrumentor

    instrumentor = PymongoInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(tracer_provider=provider)
    return provider


def tracer(name: str = "communitykit") -> trace.Tracer:
    return trace.get_tracer(name)


def inject_headers() -> dict[str, str]:
    """W3C ``traceparent``/``tracestate`` of the current context."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def extract_context(headers: Iterable[tuple[str, bytes]] | Mapping[str, str]) -> otel_context.Context:
    if isinstance(headers, Mapping):
        carrier = dict(headers)
    else:
        carrier = {k: v.decode("utf-8", "replace") for k, v in headers if v is not None}
    return propagate.extract(carrier)


def links_from(contexts: Iterable[otel_context.Context]) -> list[Link]:
    links = []
    for ctx in contexts:
        sc = trace.get_current_span(ctx).get_span_context()
        if sc.is_valid:
            links.append(Link(sc))
    return links


__all__ = ["SpanKind", "add_span_processor", "extract_context", "inject_headers", "links_from"]


class _TraceFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        sc = trace.get_current_span().get_span_context()
        record.trace_id = format(sc.trace_id, "032x") if sc.is_valid else None
        record.span_id = format(sc.span_id, "016x") if sc.is_valid else None
        return True


def setup_logging(level: str = "INFO", service_name: str = "community") -> None:
    """JSON logs on stderr with trace and span ids on every line."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_TraceFilter())
    handler.setFormatter(
        JsonFormatter(
            "{asctime}{levelname}{name}{message}",
            style="{",
            rename_fields={"levelname": "level", "asctime": "time", "name": "logger"},
            static_fields={"service": service_name},
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "pymongo"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
