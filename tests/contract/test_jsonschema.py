"""The JSON Schema export (``python -m schemas.export``) and the committed copy of it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from schemas import EVENT_TYPES, export, topics


def _tree(d: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(d.iterdir()) if p.is_file()}


def test_committed_schemas_are_up_to_date(jsonschema_dir: Path, tmp_path: Path) -> None:
    assert export.main([str(tmp_path)]) == 0
    fresh, committed = _tree(tmp_path), _tree(jsonschema_dir)
    hint = "shared/schemas/jsonschema is stale: run `make schemas` and commit the result"
    assert sorted(committed) == sorted(fresh), hint
    stale = [name for name in fresh if committed[name] != fresh[name]]
    assert not stale, f"{hint} ({', '.join(stale)})"


def test_export_writes_one_schema_per_type_and_an_index(tmp_path: Path) -> None:
    export.write(tmp_path)
    expected = {f"{t}.schema.json" for t in EVENT_TYPES} | {"index.json"}
    assert {p.name for p in tmp_path.iterdir()} == expected
    index = json.loads((tmp_path / "index.json").read_text())
    assert [e["type"] for e in index["events"]] == sorted(EVENT_TYPES)
    for entry in index["events"]:
        assert entry["topic"] in topics.EVENT_TOPICS
        assert (tmp_path / entry["schema"]).is_file()
        assert entry["type"] == f"community.{entry['producer']}.{entry['name']}.v{entry['version']}"


def test_export_removes_schemas_of_unregistered_types(tmp_path: Path) -> None:
    (tmp_path / "community.forum.Gone.v1.schema.json").write_text("{}")
    (tmp_path / "notes.txt").write_text("kept")
    export.write(tmp_path)
    assert not (tmp_path / "community.forum.Gone.v1.schema.json").exists()
    assert (tmp_path / "notes.txt").read_text() == "kept"


def test_export_runs_as_a_module(tmp_path: Path) -> None:
    out = tmp_path / "out"
    subprocess.run(
        [sys.executable, "-m", "schemas.export", str(out)], check=True, capture_output=True
    )
    assert (out / "index.json").is_file()
    assert len(list(out.glob("*.schema.json"))) == len(EVENT_TYPES)


def test_default_outdir_is_the_committed_directory(jsonschema_dir: Path) -> None:
    assert export.default_outdir().resolve() == jsonschema_dir.resolve()


def _data_schema(schema: dict[str, Any]) -> dict[str, Any]:
    ref: str = schema["properties"]["data"]["$ref"]
    node: Any = schema
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    assert isinstance(node, dict)
    return node


def test_schema_describes_envelope_and_data(event_type: str, jsonschema_dir: Path) -> None:
    schema = json.loads((jsonschema_dir / f"{event_type}.schema.json").read_text())
    assert schema["$schema"] == export.JSON_SCHEMA_DIALECT
    assert schema["title"] == event_type
    props = schema["properties"]
    assert props["type"]["const"] == event_type
    assert props["specversion"]["const"] == "1.0"
    assert {"id", "source", "type", "time", "subject", "partitionkey", "data"} <= set(
        schema["required"]
    )
    assert "actorid" in props
    assert "actorid" not in schema["required"]
    assert schema.get("additionalProperties") is True, "unknown attributes are allowed"
    data = _data_schema(schema)
    model = EVENT_TYPES[event_type]
    assert set(data["properties"]) == set(model.model_fields)
    assert set(data.get("required", [])) == {
        n for n, f in model.model_fields.items() if f.is_required()
    }


def test_samples_fit_their_schema(sample: dict[str, Any], jsonschema_dir: Path) -> None:
    """A structural check (no JSON Schema validator in the toolchain): required attributes and
    fields are present and nothing in data is outside the schema."""
    schema = json.loads((jsonschema_dir / f"{sample['type']}.schema.json").read_text())
    assert set(schema["required"]) <= set(sample)
    assert sample["type"] == schema["properties"]["type"]["const"]
    data = _data_schema(schema)
    assert set(data.get("required", [])) <= set(sample["data"])
    assert set(sample["data"]) <= set(data["properties"])
