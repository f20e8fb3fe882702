"""Structured logs: one JSON object per line, with the current trace on every line.

Every record that reaches the root logger (ours, FastStream's, uvicorn's, aiokafka's) is
written as::

    {"time": "2026-11-23T19:15:22.318Z", "level": "INFO", "logger": "communitykit.app",
     "message": "...", "service": "forum", "trace_id": "<32 hex>|null", "span_id": "<16 hex>|null",
     ...extra fields (FastStream adds topic, group_id, message_id)}

FastStream and uvicorn install their own (coloured, non-JSON) handlers on their loggers and
stop propagation; :func:`setup_logging` removes those handlers so their records go through the
same JSON handler. The level comes from ``LOG_LEVEL`` (via the service settings).
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any, TextIO

from opentelemetry import trace
from pythonjsonlogger.json import JsonFormatter

#: loggers that libraries configure with their own handlers; we route them to the root
ROUTED_LOGGERS = (
    "faststream",
    "faststream.access",
    "faststream.access.kafka",
    "faststream.kafka",
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
)
#: chatty libraries: never below WARNING
QUIET_LOGGERS = ("aiokafka", "pymongo")
#: fields some libraries add that only make sense on a terminal
_DROP_FIELDS = ("color_message",)


class TraceContextFilter(logging.Filter):
    """Adds ``trace_id`` / ``span_id`` (hex, W3C form) of the current span to each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        sc = trace.get_current_span().get_span_context()
        if sc.is_valid:
            record.trace_id = format(sc.trace_id, "032x")
            record.span_id = format(sc.span_id, "016x")
        else:
            record.trace_id = None
            record.span_id = None
        return True


class JsonLogFormatter(JsonFormatter):
    """python-json-logger with our field names, UTC ISO-8601 times and no terminal noise."""

    def __init__(self, service_name: str) -> None:
        super().__init__(
            "{asctime}{levelname}{name}{message}",
            style="{",
            rename_fields={"levelname": "level", "asctime": "time", "name": "logger"},
            static_fields={"service": service_name},
        )

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        stamp = time.strftime(datefmt or "%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        return f"{stamp}.{int(record.msecs):03d}Z"

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        for k in _DROP_FIELDS:
            log_data.pop(k, None)
        log_data.setdefault("trace_id", None)
        log_data.setdefault("span_id", None)
        return log_data


def json_handler(service_name: str, stream: TextIO | None = None) -> logging.Handler:
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.addFilter(TraceContextFilter())
    handler.setFormatter(JsonLogFormatter(service_name))
    return handler


def setup_logging(
    level: str = "INFO", service_name: str = "community", stream: TextIO | None = None
) -> logging.Handler:
    """JSON logs on stderr (or ``stream``) with trace and span ids on every line."""
    handler = json_handler(service_name, stream)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ROUTED_LOGGERS:
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True
        lg.setLevel(logging.NOTSET)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    return handler
