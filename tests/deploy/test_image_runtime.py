"""The image's recipe, rehearsed without a Docker engine: a virtualenv holding ONLY
requirements-runtime.lock (hash-checked, wheels only) plus our packages, like the Dockerfile's
build stage, runs every discovered service through the image's entrypoint against the real
Kafka broker and MongoDB-protocol server, with the root filesystem READ-ONLY and a tmpfs on
TMPDIR (a private mount namespace, as root; like `read_only: true` + tmpfs in compose and
`readOnlyRootFilesystem` + emptyDir in Kubernetes) and, for a service keeping state on disk,
a second tmpfs standing for its volume (the image's /var/lib/<service>); the image's
healthcheck passes; SIGTERM stops it within the drain time."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import validate_deploy as vd
from discovery import discover

from tests.conftest import RUN_ID, service_env
from tests.servers import S3Server, Servers, resolve_s3

from .conftest import ROOT

pytestmark = pytest.mark.integration
SERVICES = discover()
UV = str(Path(sys.executable).parent / "uv")


def sh(*cmd: str | Path) -> None:
    out = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, check=False)
    assert out.returncode == 0, f"{cmd}: {out.stderr[-2000:]}"


@pytest.fixture(scope="module")
def runtime_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("image") / "venv"
    sh(UV, "venv", "-q", "--python", sys.executable, venv)
    python = venv / "bin" / "python"
    sh(
        UV,
        "pip",
        "install",
        "-q",
        "--python",
        python,
        "--no-deps",
        "--require-hashes",
        "--only-binary",
        ":all:",
        "-r",
        ROOT / "requirements-runtime.lock",
    )
    sh(
        UV,
        "pip",
        "install",
        "-q",
        "--python",
        python,
        "--no-deps",
        ROOT / "shared/schemas",
        ROOT / "shared/kit",
        *(s.root for s in SERVICES),
    )
    return python


#: run "$@" with / remounted read-only and a tmpfs on $TMPDIR (and on $STATE_DIR, the volume of
#: a service keeping state on disk), in a private mount namespace
READ_ONLY_ROOT = """
set -eu
mount -o remount,bind,ro /
mount -t tmpfs -o size=64m,mode=1777 tmpfs "$TMPDIR"
mount -t tmpfs -o size=256m,mode=1777 tmpfs "$STATE_DIR"
if touch /.read-only-probe 2>/dev/null; then echo "the root is writable" >&2; exit 97; fi
exec "$@"
"""


@pytest.fixture(scope="module")
def read_only_root() -> list[str]:
    probe = subprocess.run(
        [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            "mount -o remount,bind,ro / && ! touch /.read-only-probe 2>/dev/null",
        ],
        capture_output=True,
        check=False,
    )
    if probe.returncode != 0:
        pytest.skip(f"no private mount namespace here (unshare as root): {probe.stderr!r}")
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", READ_ONLY_ROOT, "sh"]


def state_settings(service: str, state: Path) -> dict[str, str]:
    """What docker-compose.yml and deploy/k8s set for a service that keeps state on its volume
    (search: the index there; tests start a new index at the end of the topics)."""
    if service == "search":
        return {"SEARCH_INDEX_PATH": str(state / "index"), "SEARCH_START_FROM": "latest"}
    return {}


@pytest.fixture(scope="module")
def media_s3() -> Iterator[S3Server]:
    """The media service keeps its bytes in S3: an object store (tests/servers.py decides)."""
    s3 = resolve_s3()
    try:
        yield s3
    finally:
        s3.stop()


def object_store(service: str, request: pytest.FixtureRequest) -> dict[str, str]:
    """What the deployments give the media service: its S3 endpoint, bucket and keys."""
    if service != "media":
        return {}
    s3: S3Server = request.getfixturevalue("media_s3")
    return {
        "MEDIA_S3_ENDPOINT_URL": s3.endpoint,
        "MEDIA_S3_ACCESS_KEY": s3.access_key,
        "MEDIA_S3_SECRET_KEY": s3.secret_key,
        "MEDIA_S3_BUCKET": f"t{RUN_ID}img-media",
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def snapshot(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def test_runtime_lock_has_no_tooling(runtime_python: Path) -> None:
    out = subprocess.run(
        [str(runtime_python), "-c", "import pytest"], capture_output=True, check=False
    )
    assert out.returncode != 0  # pytest is not in the image
    assert not (runtime_python.parent / "pip").exists()


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_service_runs_from_the_runtime_lock_only(
    service: vd.Service,
    runtime_python: Path,
    servers: Servers,
    read_only_root: list[str],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    port = free_port()
    workdir, tmp, state = tmp_path / "workdir", tmp_path / "tmp", tmp_path / "state"
    for folder in (workdir, tmp, state):
        folder.mkdir()
    env = {
        # as in the image: no home, temporary files only under TMPDIR (a tmpfs/emptyDir there)
        "PATH": f"{runtime_python.parent}:/usr/bin:/bin",
        "HOME": "/nonexistent",
        "COMMUNITY_SERVICE": service.name,
        "PYTHONDONTWRITEBYTECODE": "1",
        "TMPDIR": str(tmp),
        "STATE_DIR": str(state),
        **service_env(servers, service.name, suffix="img"),
        **state_settings(service.name, state),
        **object_store(service.name, request),
        f"{service.env_prefix}PORT": str(port),
    }
    install = runtime_python.parents[1]
    before = snapshot(install)
    log = (tmp_path / "service.log").open("w")
    proc = subprocess.Popen(
        [*read_only_root, str(runtime_python), str(ROOT / "deploy/docker/entrypoint.py")],
        env=env,
        cwd=workdir,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        healthcheck = [str(runtime_python), str(ROOT / "deploy/docker/healthcheck.py")]
        deadline = time.monotonic() + 60
        while subprocess.run(healthcheck, env=env, capture_output=True, check=False).returncode:
            assert proc.poll() is None, (tmp_path / "service.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "healthcheck never passed"
            time.sleep(0.5)
        # the entrypoint made it listen on every interface, not only loopback
        host = socket.gethostbyname(socket.gethostname())
        # ready once its dependencies answer (search: once its consumers have their partitions)
        while (ready := httpx.get(f"http://{host}:{port}/readyz", timeout=10)).status_code != 200:
            assert time.monotonic() < deadline, ready.text
            time.sleep(0.5)
        checks = ready.json()
        assert checks.pop("status") == "ready" and checks and all(checks.values()), checks
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal (exit 143 in a container)
        assert proc.wait(timeout=vd.drain_seconds() + 10) in (0, -signal.SIGTERM)
        assert time.monotonic() - started < vd.drain_seconds() + 5
        assert "Application shutdown complete" in (tmp_path / "service.log").read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    assert snapshot(install) == before  # nothing written into the installation
    assert os.listdir(workdir) == []  # nor into the working directory
    assert not Path("/nonexistent").exists()
