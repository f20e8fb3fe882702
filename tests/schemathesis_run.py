"""Run schemathesis against one service's OpenAPI document and fail with its report.

Shared by tests/security (forum, ideas, reputation, analytics, search) and the suites of
the services that need servers of their own (notifications' SMTP, media's S3, gatherings):
all checks (one refined for what OpenAPI cannot express: ``security/schemathesis_hooks.py``)
and every phase, bounded by ``SECURITY_ST_EXAMPLES`` test cases per operation (default 5)
with a fixed seed (``SECURITY_ST_SEED``, default 1) so that a failure reproduces.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .conftest import token

HOOKS = Path(__file__).parent / "security" / "schemathesis_hooks.py"
EXAMPLES = os.environ.get("SECURITY_ST_EXAMPLES", "5")
SEED = os.environ.get("SECURITY_ST_SEED", "1")


def assert_openapi_conformance(name: str, url: str) -> None:
    """schemathesis on ``url``'s /openapi.json: zero failures (the report otherwise)."""
    st = Path(sys.executable).with_name("st")
    cmd = [
        str(st),
        "run",
        f"{url}/openapi.json",
        "--checks",
        "all",
        # replaced by positive_data_acceptance_issued (the hooks file)
        "--exclude-checks",
        "positive_data_acceptance",
        "--max-examples",
        EXAMPLES,
        "--seed",
        SEED,
        # one worker: hypothesis' source inspection is not thread-safe on CPython 3.11
        "--workers",
        "1",
        "--request-timeout",
        "10",
        "--header",
        f"Authorization: Bearer {token('schemathesis')}",
        "--no-color",
        "--generation-database",
        "none",
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS)}
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False)
    lines = out.stdout.splitlines()
    summary = [ln.strip("= ") for ln in lines if ln.startswith("=")][-1:] or [out.stdout[-300:]]
    cases = [ln.strip() for ln in lines if " generated" in ln][-1:]
    print(f"\n[schemathesis] {name}: {'; '.join(cases + summary)}")
    start = next((i for i, ln in enumerate(lines) if "FAILURES" in ln or "ERRORS" in ln), 0)
    report = "\n".join(ln[:400] for ln in lines[start:])  # generated values can be huge
    assert out.returncode == 0, f"{report}\n{out.stderr[-2000:]}"
