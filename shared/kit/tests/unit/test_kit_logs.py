"""The JSON log format: one object per line, trace and span ids of the current span."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider

from communitykit.logs import ROUTED_LOGGERS, json_handler, setup_logging


def _logger(stream: io.StringIO, name: str = "kit-test") -> logging.Logger:
    lg = logging.getLogger(name)
    lg.handlers[:] = [json_handler("svc", stream)]
    lg.propagate = False
    lg.setLevel(logging.DEBUG)
    return lg


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_line_inside_a_span_carries_its_trace_and_span_id() -> None:
    out = io.StringIO()
    log = _logger(out)
    tracer = TracerProvider().get_tracer("t")  # local provider: the global one stays untouched
    with tracer.start_as_current_span("work") as span:
        log.info("hello %s", "world", extra={"post_id": "p1"})
        sc = span.get_span_context()
    (line,) = _lines(out)
    assert line["message"] == "hello world"
    assert line["level"] == "INFO" and line["logger"] == "kit-test" and line["service"] == "svc"
    assert line["trace_id"] == format(sc.trace_id, "032x")
    assert line["span_id"] == format(sc.span_id, "016x")
    assert line["post_id"] == "p1"
    assert str(line["time"]).endswith("Z")


def test_a_line_outside_any_span_has_null_ids() -> None:
    out = io.StringIO()
    _logger(out).warning("no trace")
    (line,) = _lines(out)
    assert line["trace_id"] is None and line["span_id"] is None
    assert line["level"] == "WARNING"


def test_exceptions_and_terminal_only_fields() -> None:
    out = io.StringIO()
    log = _logger(out)
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed", extra={"color_message": "\x1b[31mfailed\x1b[0m"})
    (line,) = _lines(out)
    assert "ValueError: boom" in str(line["exc_info"])
    assert "color_message" not in line


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    libs = {
        n: (logging.getLogger(n).handlers[:], logging.getLogger(n).propagate)
        for n in ROUTED_LOGGERS
    }
    yield
    root.handlers[:], level = saved
    root.setLevel(level)
    for n, (handlers, propagate) in libs.items():
        logging.getLogger(n).handlers[:] = handlers
        logging.getLogger(n).propagate = propagate


@pytest.mark.usefixtures("restore_logging")
def test_library_loggers_go_through_the_json_handler_at_log_level() -> None:
    # FastStream and uvicorn install their own coloured handlers and stop propagation
    fs = logging.getLogger("faststream")
    fs.addHandler(logging.StreamHandler(io.StringIO()))
    fs.propagate = False
    out = io.StringIO()
    setup_logging("warning", "forum", stream=out)
    logging.getLogger("faststream.kafka").warning("consumer assigned")
    logging.getLogger("uvicorn.error").error("server error")
    logging.getLogger("faststream.kafka").info("below LOG_LEVEL")
    lines = _lines(out)
    assert [(x["logger"], x["message"]) for x in lines] == [
        ("faststream.kafka", "consumer assigned"),
        ("uvicorn.error", "server error"),
    ]
    assert all(x["service"] == "forum" and "trace_id" in x for x in lines)
