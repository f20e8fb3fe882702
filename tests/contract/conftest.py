"""Fixtures of the event-contract tests (SPEC 2.1-2.3).

The golden samples live in ``shared/schemas/samples``, one file per registered event type
(``<type>.json``) plus variants (``<type>.<variant>.json``). Tests that take ``sample_path``
run once per sample file; tests that take ``event_type`` run once per registered event type.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from schemas import EVENT_TYPES

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMAS_ROOT = REPO_ROOT / "shared" / "schemas"
SAMPLES_DIR = SCHEMAS_ROOT / "samples"
JSONSCHEMA_DIR = SCHEMAS_ROOT / "jsonschema"


def _sample_paths() -> list[Path]:
    return sorted(SAMPLES_DIR.glob("*.json"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "sample_path" in metafunc.fixturenames:
        paths = _sample_paths()
        metafunc.parametrize("sample_path", paths, ids=[p.stem for p in paths])
    if "event_type" in metafunc.fixturenames:
        types = sorted(EVENT_TYPES)
        metafunc.parametrize("event_type", types, ids=types)


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    return SAMPLES_DIR


@pytest.fixture(scope="session")
def jsonschema_dir() -> Path:
    return JSONSCHEMA_DIR


@pytest.fixture
def sample_bytes(sample_path: Path) -> bytes:
    """The sample exactly as it would be the value of a Kafka record."""
    return sample_path.read_bytes()


@pytest.fixture
def sample(sample_bytes: bytes) -> dict[str, Any]:
    obj = json.loads(sample_bytes)
    assert isinstance(obj, dict)
    return obj


@pytest.fixture(scope="session")
def all_samples() -> dict[str, dict[str, Any]]:
    """Every sample, by file stem (``community.forum.PostCreated.v1.review``). Do not mutate."""
    out: dict[str, dict[str, Any]] = {}
    for path in _sample_paths():
        obj = json.loads(path.read_bytes())
        assert isinstance(obj, dict), path
        out[path.stem] = obj
    return out


@pytest.fixture
def sample_of(
    all_samples: dict[str, dict[str, Any]],
) -> Callable[[str], dict[str, Any]]:
    """``sample_of("community.forum.VoteCast.v1")``: a fresh (mutable) copy of that sample."""

    def get(stem: str) -> dict[str, Any]:
        obj = json.loads(json.dumps(all_samples[stem]))
        assert isinstance(obj, dict)
        return obj

    return get
