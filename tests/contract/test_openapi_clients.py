"""OpenAPI documents that client generators read whole (issue 29 item 4), tried as a consuming
team would: for every service (``services/*/pyproject.toml``, so a new service is covered when
it lands) a Python client with openapi-python-client (pinned in the dev lock) and a TypeScript
client with openapi-generator ``typescript-fetch`` (the jar ``make openapi-generator`` fetches
from Maven Central). Any warning about the document, or any operation without its generated
function, fails. The documents come from the apps in-process (``create_app().openapi()``: no
server, no connection).

Then a generated Python client creates a thread, replies and votes against a running forum.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from openapi_python_client import generate
from openapi_python_client.config import Config, ConfigFile, MetaType

from ..conftest import ServiceProcess, from_end, service_env, token
from ..servers import Servers
from .conftest import REPO_ROOT

SERVICES = sorted(p.parent.name for p in (REPO_ROOT / "services").glob("*/pyproject.toml"))
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
OPENAPI_GENERATOR_VERSION = "7.17.0"  # the Makefile's OPENAPI_GENERATOR_VERSION
#: what openapi-generator says about itself, not about our documents: every 3.1 document
#: gets the first; the second is about its example generator, which handles JSON responses
#: only (ours are problem+json too)
TS_TOOL_NOTICES = (
    "OpenAPI 3.1 support is still in beta",
    "Response examples can currently only be generated for application/json media type",
)


@dataclass(frozen=True)
class Generated:
    documents: dict[str, dict[str, Any]]
    python_dir: Path
    python_errors: dict[str, list[str]]
    ts_dir: Path
    ts_log: str
    ts_status: int


def operations(doc: dict[str, Any]) -> list[str]:
    return [
        op["operationId"]
        for item in doc["paths"].values()
        for method, op in item.items()
        if method in HTTP_METHODS
    ]


def _document(service: str) -> dict[str, Any]:
    module = importlib.import_module(f"{service}.main")
    doc: dict[str, Any] = module.create_app().openapi()
    return doc


def _jar() -> Path:
    jar = Path(
        os.environ.get(
            "OPENAPI_GENERATOR_JAR",
            REPO_ROOT
            / ".cache"
            / "openapi-generator"
            / f"openapi-generator-cli-{OPENAPI_GENERATOR_VERSION}.jar",
        )
    )
    assert jar.is_file(), f"{jar} is missing: run `make openapi-generator`"
    return jar


def _python_client(service: str, spec: Path, out: Path) -> list[str]:
    config = Config.from_sources(
        # enums as Literal types: a member name per value collides for values that differ
        # only in punctuation (the tz database's "GMT+0", "GMT-0" and "GMT0")
        ConfigFile(post_hooks=[], package_name_override=f"{service}_client", literal_enums=True),
        MetaType.POETRY,
        spec,
        "utf-8",
        True,
        out,
    )
    return [f"{e.level}: {e.header}: {e.detail}" for e in generate(config=config)]


def _ts_clients(specs: dict[str, Path], out: Path) -> tuple[int, str]:
    """Every TypeScript client in one JVM (``batch``: the JVM start is most of the cost)."""
    configs = []
    for service, spec in specs.items():
        cfg = out / f"{service}.json"
        cfg.write_text(
            json.dumps(
                {
                    "generatorName": "typescript-fetch",
                    "inputSpec": str(spec),
                    "outputDir": str(out / service),
                    "additionalProperties": {"npmName": f"@community/{service}-client"},
                }
            )
        )
        configs.append(str(cfg))
    java = shutil.which("java")
    assert java, "java (17) is needed to run openapi-generator"
    run = subprocess.run(
        [java, "-jar", str(_jar()), "batch", "--fail-fast", "--threads", "2", *configs],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return run.returncode, run.stdout + run.stderr


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    root = tmp_path_factory.mktemp("clients")
    documents, specs = {}, {}
    for service in SERVICES:
        documents[service] = _document(service)
        specs[service] = root / f"{service}.openapi.json"
        specs[service].write_text(json.dumps(documents[service]))
    python_dir = root / "python"
    python_dir.mkdir()
    errors = {s: _python_client(s, specs[s], python_dir / s) for s in SERVICES}
    ts_dir = root / "typescript"
    ts_dir.mkdir()
    status, log = _ts_clients(specs, ts_dir)
    return Generated(documents, python_dir, errors, ts_dir, log, status)


@pytest.mark.parametrize("service", SERVICES)
def test_python_client_reads_the_whole_document(generated: Generated, service: str) -> None:
    assert generated.python_errors[service] == [], "\n".join(generated.python_errors[service])
    package = generated.python_dir / service / f"{service}_client" / "api"
    modules = {p.stem for p in package.rglob("*.py")}
    missing = [
        op
        for op in operations(generated.documents[service])
        if re.sub("_+", "_", op) not in modules  # a module name has single underscores
    ]
    assert not missing, f"openapi-python-client generated no function for {missing}"


def test_typescript_generator_ran(generated: Generated) -> None:
    assert generated.ts_status == 0, generated.ts_log[-3000:]


@pytest.mark.parametrize("service", SERVICES)
def test_typescript_client_reads_the_whole_document(generated: Generated, service: str) -> None:
    warnings = [
        line
        for line in generated.ts_log.splitlines()
        if re.search(r"\b(WARN|ERROR)\b|[Vv]alidation|issues", line)
        and not any(notice in line for notice in TS_TOOL_NOTICES)
    ]
    assert not warnings, "\n".join(warnings)
    apis = "".join(p.read_text() for p in (generated.ts_dir / service).rglob("apis/*.ts"))
    missing = [
        op
        for op in operations(generated.documents[service])
        if f"async {_camel(op)}Raw(" not in apis
    ]
    assert not missing, f"typescript-fetch generated no function for {missing}"


def _camel(operation_id: str) -> str:
    head, *rest = operation_id.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


def test_the_checks_fail_on_a_skipped_endpoint(tmp_path: Path) -> None:
    """The form generators skip (an anyOf of partial schemas, as the forum's bodies were) is
    reported: the checks above cannot pass by accident."""
    doc = _document("forum")
    schemas = doc["components"]["schemas"]
    schemas["CreateThread"] = {  # the forum's body before issue 29
        **schemas["QuestionThread"],
        "anyOf": [
            {
                "properties": {
                    "kind": {"const": "review"},
                    "product_id": {"type": "string"},
                    "rating": {"type": "integer"},
                    "media": {"maxItems": 0},
                },
                "required": ["kind", "product_id", "rating"],
            },
            {
                "properties": {
                    "kind": {"const": "media"},
                    "rating": {"type": "null"},
                    "media": {"type": "array", "minItems": 1},
                },
                "required": ["kind", "media"],
            },
        ],
    }
    spec = tmp_path / "forum.json"
    spec.write_text(json.dumps(doc))
    errors = _python_client("forum", spec, tmp_path / "out")
    assert any("POST /threads" in e for e in errors), errors


# --- a generated client against the running forum --------------------------------------------


@pytest.fixture(scope="module")
def forum_process(servers: Servers) -> Iterator[ServiceProcess]:
    p = ServiceProcess("forum", service_env(servers, "forum", suffix="oac"))
    from_end(servers, p)
    p.start()
    try:
        yield p
    finally:
        p.stop()


@pytest.mark.integration
def test_generated_python_client_creates_a_thread_replies_and_votes(
    generated: Generated, forum_process: ServiceProcess
) -> None:
    sys.path.insert(0, str(generated.python_dir / "forum"))
    try:
        client_mod = importlib.import_module("forum_client")
        models = importlib.import_module("forum_client.models")
    finally:
        sys.path.remove(str(generated.python_dir / "forum"))
    ops = operations(generated.documents["forum"])
    create_op = importlib.import_module(f"forum_client.api.default.{_op(ops, 'create_thread')}")
    reply_op = importlib.import_module(f"forum_client.api.default.{_op(ops, 'reply')}")
    vote_op = importlib.import_module(f"forum_client.api.default.{_op(ops, 'vote')}")
    get_op = importlib.import_module(f"forum_client.api.default.{_op(ops, 'get_thread')}")

    asker, helper = f"asker-{uuid.uuid4().hex[:6]}", f"helper-{uuid.uuid4().hex[:6]}"

    def as_user(user: str) -> Any:
        return client_mod.AuthenticatedClient(base_url=forum_process.url, token=token(user))

    with as_user(asker) as client:
        created = create_op.sync_detailed(
            client=client,
            body=models.QuestionThread(
                kind="question",
                title="How do I pair the thermostat?",
                body="The app does not find it.",
                tags=["thermostat"],
            ),
        )
        assert created.status_code == 201, created.content
        thread_id, question_id = created.parsed.thread_id, created.parsed.post_id

    with as_user(helper) as client:
        reply = reply_op.sync_detailed(
            thread_id, client=client, body=models.CreateReply(body="Hold the button 5 s.")
        )
        assert reply.status_code == 201, reply.content
        vote = vote_op.sync_detailed(question_id, client=client, body=models.CastVote(value=1))
        assert vote.status_code == 200, vote.content
        assert vote.parsed.score == 1

    with client_mod.Client(base_url=forum_process.url) as public:
        thread = get_op.sync_detailed(thread_id, client=public)
    assert thread.status_code == 200, thread.content
    posts = thread.parsed.posts
    assert posts[0].post_id == question_id
    assert reply.parsed.post_id in {p.post_id for p in posts}
    assert thread.parsed.tags == ["thermostat"]


def _op(ops: list[str], prefix: str) -> str:
    (found,) = [op for op in ops if op.startswith(prefix + "_")]
    return re.sub("_+", "_", found)  # the module's name
