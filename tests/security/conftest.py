"""Fixtures of the security suite (issue 13 items 10-14): every service as a real process
against the real Kafka and store, started by the integration fixtures (``tests/conftest``)."""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Iterator
from typing import Any

import jwt
import pytest

from ..conftest import JWT_SECRET, RUN_ID, ServiceProcess, auth, from_end, service_env
from ..integration.search.conftest import index_path, search_process
from ..servers import Servers

SUFFIX = "sec"


def uid(name: str) -> str:
    """A user id unique to this run (the topics are shared between runs)."""
    return f"{name}-{RUN_ID}-{uuid.uuid4().hex[:4]}"


@pytest.fixture(scope="package")
def services(servers: Servers) -> Iterator[dict[str, ServiceProcess]]:
    """forum, ideas, reputation, analytics and search on databases of their own, with the
    production protections on (the per-user write limit is high: see ``service_env``)."""
    procs = {
        n: ServiceProcess(n, service_env(servers, n, SUFFIX))
        for n in ("forum", "ideas", "reputation", "analytics")
    }
    procs["search"] = search_process(servers, f"{SUFFIX}{uuid.uuid4().hex[:4]}")
    from_end(servers, *procs.values())
    try:
        for p in procs.values():
            p.start()
        yield procs
    finally:
        for p in procs.values():
            p.stop()
        shutil.rmtree(index_path(procs["search"]), ignore_errors=True)


def claims(user: str, **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": user, "name": user, "roles": ["member"], "iat": now, "exp": now + 600, **extra}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def signed(c: dict[str, Any], secret: str = JWT_SECRET) -> dict[str, str]:
    return bearer(jwt.encode(c, secret, algorithm="HS256"))


__all__ = ["auth", "bearer", "claims", "signed", "uid"]
