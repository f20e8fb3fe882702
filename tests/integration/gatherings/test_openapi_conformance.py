"""schemathesis on the gatherings service's OpenAPI document, on the real process with the
servers it needs (tests/schemathesis_run.py): every check, every phase, zero failures."""

from __future__ import annotations

import pytest

from ...conftest import ServiceProcess
from ...schemathesis_run import assert_openapi_conformance

pytestmark = [pytest.mark.integration]


def test_openapi_conformance(gatherings: ServiceProcess) -> None:
    assert_openapi_conformance("gatherings", gatherings.url)
