"""The AsyncAPI 3.0 document (``shared/schemas/asyncapi.yaml``): current, complete, accepted by
the official parser (``@asyncapi/parser``, pinned in tools/asyncapi) with no error or warning,
its examples valid, and each service's part served at ``/asyncapi.json``."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml

from communitykit.app import create_app
from communitykit.settings import ServiceSettings
from schemas import EVENT_TYPES, asyncapi, topics

from .conftest import REPO_ROOT, SCHEMAS_ROOT

YAML_PATH = SCHEMAS_ROOT / "asyncapi.yaml"
TOOLS = REPO_ROOT / "tools" / "asyncapi"
FIX = "run `make schemas` and commit shared/schemas/asyncapi.yaml and src/schemas/asyncapi.json"


@pytest.fixture(scope="module")
def committed() -> dict[str, Any]:
    doc = yaml.safe_load(YAML_PATH.read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


def test_committed_document_is_current() -> None:
    yaml_text, json_text = asyncapi.render(SCHEMAS_ROOT / "samples")
    assert YAML_PATH.read_text(encoding="utf-8") == yaml_text, f"asyncapi.yaml is stale: {FIX}"
    packaged = Path(asyncapi.__file__).with_name(asyncapi.PACKAGED)
    assert packaged.read_text(encoding="utf-8") == json_text, f"asyncapi.json is stale: {FIX}"


def test_yaml_and_packaged_json_are_one_document(committed: dict[str, Any]) -> None:
    assert committed == asyncapi.packaged()


def test_every_event_type_is_a_message_with_its_schema(committed: dict[str, Any]) -> None:
    messages = committed["components"]["messages"]
    assert set(asyncapi.message_names(committed)) == set(EVENT_TYPES)
    for event_type, model in EVENT_TYPES.items():
        msg = messages[event_type]
        assert msg["payload"] == asyncapi.payload_schema(event_type, model)
        assert msg["headers"]["properties"]["event-type"]["const"] == event_type
        assert msg["bindings"]["kafka"]["key"]["type"] == "string"
        channel = committed["channels"][topic := f"{model.producer}.events"]
        assert channel["address"] == topic
        assert event_type in channel["messages"]


def test_every_topic_and_its_dlq_is_a_channel(committed: dict[str, Any]) -> None:
    addresses = {c["address"] for c in committed["channels"].values()}
    assert addresses == set(topics.ALL_TOPICS)


def test_operations_name_every_sender_and_receiver(committed: dict[str, Any]) -> None:
    ops = committed["operations"]
    for topic in topics.EVENT_TOPICS:
        producer = asyncapi.producer_of(topic)
        assert ops[f"{producer}.sends.{topic}"]["action"] == "send"
        for consumer in asyncapi.receivers_of(topic):
            assert ops[f"{consumer}.receives.{topic}"]["action"] == "receive"
            assert ops[f"{consumer}.sends.{topics.dlq(topic)}"]["action"] == "send"
    # every service in the table is a real one (a typo would describe a consumer nobody runs)
    known = {p.parent.name for p in (REPO_ROOT / "services").glob("*/pyproject.toml")}
    planned = {"gatherings", "media", "notifications"}  # SPEC 1; being built
    assert set(asyncapi.services()) <= known | planned


def test_examples_are_the_golden_samples_and_fit_their_schemas(
    committed: dict[str, Any],
) -> None:
    samples = {p.name for p in (SCHEMAS_ROOT / "samples").glob("*.json")}
    seen = set()
    for name in asyncapi.message_names(committed):
        msg = committed["components"]["messages"][name]
        payload = jsonschema.Draft202012Validator(msg["payload"])
        headers = jsonschema.Draft202012Validator(msg["headers"])
        assert msg.get("examples"), f"{name} has no example (no golden sample?)"
        for example in msg["examples"]:
            payload.validate(example["payload"])
            headers.validate(example["headers"])
            seen.add(example["summary"].split()[2])
    assert seen == samples


def _parse(paths: list[Path]) -> list[dict[str, Any]]:
    node = shutil.which("node")
    assert node, "node (20) is needed to run the AsyncAPI parser"
    assert (TOOLS / "node_modules" / "@asyncapi" / "parser").is_dir(), (
        "the AsyncAPI parser is not installed: run `make asyncapi-tools`"
    )
    run = subprocess.run(
        [node, "validate.mjs", *map(str, paths)],
        cwd=TOOLS,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    results = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert len(results) == len(paths), run.stderr
    return results


#: service parts checked by the parser besides the whole document: one that receives and
#: dead-letters, one that only sends (every part is cut by the same function; the parser takes
#: seconds per document on a busy machine)
PARSED_PARTS = ("reputation", "ideas")


@pytest.fixture(scope="module")
def parsed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """One parser run over the whole document, some service parts and a broken document."""
    tmp = tmp_path_factory.mktemp("asyncapi")
    paths = {"whole": YAML_PATH}
    for service in PARSED_PARTS:
        paths[service] = tmp / f"{service}.json"
        paths[service].write_text(json.dumps(asyncapi.service_document(service)), "utf-8")
    broken = asyncapi.service_document("ideas")
    channel = broken["channels"][topics.IDEAS_EVENTS]
    channel["messages"]["nope"] = {"$ref": "#/components/messages/nope"}
    paths["broken"] = tmp / "broken.json"
    paths["broken"].write_text(json.dumps(broken), "utf-8")
    return dict(zip(paths, _parse(list(paths.values())), strict=True))


def test_official_parser_accepts_the_whole_document_and_service_parts(
    parsed: dict[str, dict[str, Any]],
) -> None:
    for name in ("whole", *PARSED_PARTS):
        result = parsed[name]
        # "information" and "hint" are fine (e.g. a newer AsyncAPI minor exists: we state 3.0)
        problems = [d for d in result["diagnostics"] if d["severity"] in ("error", "warning")]
        assert result["parsed"], result
        assert not problems, f"{name}: {problems}"


def test_official_parser_rejects_a_broken_document(parsed: dict[str, dict[str, Any]]) -> None:
    """The check can fail: a dangling message reference is an error."""
    assert any(d["severity"] == "error" for d in parsed["broken"]["diagnostics"])


def test_service_part_holds_only_its_operations() -> None:
    part = asyncapi.service_document("reputation")
    assert {op["x-service"] for op in part["operations"].values()} == {"reputation"}
    assert {c["address"] for c in part["channels"].values()} == {
        topics.REPUTATION_EVENTS,
        topics.FORUM_EVENTS,
        topics.IDEAS_EVENTS,
        topics.dlq(topics.FORUM_EVENTS),
        topics.dlq(topics.IDEAS_EVENTS),
    }
    assert "community.reputation.LevelChanged.v1" in part["components"]["messages"]
    assert "community.forum.PostCreated.v1" in part["components"]["messages"]
    ideas = asyncapi.service_document("ideas")
    assert set(ideas["operations"]) == {f"ideas.sends.{topics.IDEAS_EVENTS}"}
    assert "community.forum.PostCreated.v1" not in ideas["components"]["messages"]


@pytest.mark.asyncio
async def test_every_service_app_serves_its_part() -> None:
    """The kit's create_app serves /asyncapi.json, chosen by the service name (no servers: the
    route needs no connection)."""
    settings = ServiceSettings(service_name="forum")
    app = create_app(settings, title="forum", routers=[], runtime_factory=_no_runtime)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://forum") as client:
        r = await client.get("/asyncapi.json")
    assert r.status_code == 200
    assert r.json() == asyncapi.service_document("forum")
    assert "/asyncapi.json" not in app.openapi()["paths"]


def _no_runtime(settings: ServiceSettings) -> Any:
    raise AssertionError("the AsyncAPI route must not need the runtime")
