"""Exporter and resource choice from the standard OTEL_* variables (no global state)."""

from __future__ import annotations

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

from communitykit.telemetry import build_provider, exporters_from_env, make_resource


def _processors(provider: TracerProvider) -> list[object]:
    return list(provider._active_span_processor._span_processors)


def test_no_exporter_when_nothing_is_configured() -> None:
    assert exporters_from_env({}) == []
    assert _processors(build_provider("forum", environ={})) == []


@pytest.mark.parametrize(
    "key", ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]
)
def test_otlp_http_exporter_when_an_endpoint_is_set(key: str) -> None:
    env = {key: "http://collector:4318"}
    (exporter,) = exporters_from_env(env)
    assert isinstance(exporter, OTLPSpanExporter)
    (processor,) = _processors(build_provider("forum", environ=env))
    assert isinstance(processor, BatchSpanProcessor)


@pytest.mark.parametrize(
    "env",
    [
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"},
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"},
        {"OTEL_TRACES_EXPORTER": "otlp"},  # no endpoint: nowhere to send
    ],
)
def test_no_exporter_when_disabled_or_without_endpoint(env: dict[str, str]) -> None:
    assert exporters_from_env(env) == []


def test_console_exporter_on_request() -> None:
    (exporter,) = exporters_from_env({"OTEL_TRACES_EXPORTER": "console"})
    assert isinstance(exporter, ConsoleSpanExporter)


def test_resource_names_service_and_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    attrs = make_resource("forum", package="community-kit").attributes
    assert attrs["service.name"] == "forum"
    assert attrs["service.version"] == "1.0.0"  # the installed distribution's version
    assert attrs["service.namespace"] == "community"


def test_otel_service_name_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SERVICE_NAME", "forum-canary")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=staging")
    attrs = make_resource("forum", package="community-kit").attributes
    assert attrs["service.name"] == "forum-canary"
    assert attrs["deployment.environment"] == "staging"
    assert attrs["service.version"] == "1.0.0"


def test_unknown_package_version_falls_back() -> None:
    attrs = make_resource("nosuch", package="no-such-distribution-xyz", environ={}).attributes
    assert attrs["service.version"] == "0.0.0"
