"""Item 14: schemathesis against each service's OpenAPI document, with all its checks and
every phase (examples, coverage, fuzzing, stateful), on the real processes: zero failures.
The run itself is ``tests/schemathesis_run.py`` (gatherings, media and notifications use it
in their own suites, beside the servers they need); run it wider by hand, e.g.
``SECURITY_ST_EXAMPLES=100 SECURITY_ST_SEED=$RANDOM``.
"""

from __future__ import annotations

import pytest

from ..conftest import ServiceProcess
from ..schemathesis_run import assert_openapi_conformance

pytestmark = [pytest.mark.integration]


@pytest.mark.parametrize(
    "name",
    [
        "reputation",
        "analytics",
        "search",
        "ideas",
        "forum",
    ],
)
def test_openapi_conformance(name: str, services: dict[str, ServiceProcess]) -> None:
    assert_openapi_conformance(name, services[name].url)
