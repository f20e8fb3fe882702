"""Breaking changes of an event schema within one ``.vN`` (SPEC 2.1), caught before they land.

``python -m schemas.compat`` (``make contracts``) renders the JSON Schema of every registered
event type (``schemas.export``) and compares it with the previous committed version of its file
in ``shared/schemas/jsonschema`` (git history):

* when the rendered schema differs from the one committed at ``HEAD``, with that one (the change
  being made);
* otherwise with the version before the last commit that changed the file (the change that
  landed last: on a fresh clone of main, this checks what was merged).

A consumer written against the old schema must still read every record valid under the new one.
So, within one version, these fail, naming the field and the rule:

``removed-field``         a property of the old schema is gone
``retyped-field``         a value of the old type is no longer allowed (string -> integer, a
                          nullable field made non-nullable, an object made a string...)
``newly-required-field``  a field old producers could omit is now required (including a new
                          field added as required)
``narrowed-enum``         a value of an old ``enum``/``const`` is no longer allowed, or a free
                          value became an enum

Adding an optional field, widening a type or an enum pass. A breaking change is a new ``.vN``
type (a new file: nothing to compare with).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from . import export

REMOVED = "removed-field"
RETYPED = "retyped-field"
NEWLY_REQUIRED = "newly-required-field"
NARROWED_ENUM = "narrowed-enum"

JSON_TYPES = ("null", "boolean", "object", "array", "number", "integer", "string")


@dataclass(frozen=True)
class Violation:
    event_type: str
    field: str
    rule: str
    detail: str

    def __str__(self) -> str:
        return f"{self.event_type}: field '{self.field}': {self.rule} ({self.detail})"


class _Doc:
    """One schema document, to resolve its local ``$ref``s."""

    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        seen = 0
        while isinstance(node.get("$ref"), str) and seen < 32:
            target: Any = self.root
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
            seen += 1
        return node

    def branches(self, node: dict[str, Any]) -> list[dict[str, Any]]:
        """The alternatives of a schema (``anyOf``/``oneOf``), each resolved; else itself."""
        node = self.resolve(node)
        alts = node.get("anyOf") or node.get("oneOf")
        if not alts:
            return [node]
        out = []
        for alt in alts:
            out.extend(self.branches(alt))
        return out


def _type_of_value(v: object) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def _types(doc: _Doc, node: dict[str, Any]) -> set[str]:
    """The JSON types a schema allows (every type when it does not say)."""
    out: set[str] = set()
    for b in doc.branches(node):
        if "const" in b:
            out.add(_type_of_value(b["const"]))
        elif "enum" in b:
            out.update(_type_of_value(v) for v in b["enum"])
        elif "type" in b:
            t = b["type"]
            out.update([t] if isinstance(t, str) else t)
        elif "properties" in b:
            out.add("object")
        elif "items" in b:
            out.add("array")
        else:
            return set(JSON_TYPES)
    if "number" in out:
        out.add("integer")  # a number admits integers
    return out


def _values(doc: _Doc, node: dict[str, Any]) -> list[object] | None:
    """The allowed values when every alternative is an enum/const (or null); else None."""
    values: list[object] = []
    for b in doc.branches(node):
        if "const" in b:
            values.append(b["const"])
        elif "enum" in b:
            values.extend(b["enum"])
        elif b.get("type") == "null":
            values.append(None)
        else:
            return None
    return values


def _one(doc: _Doc, node: dict[str, Any], kind: str) -> dict[str, Any] | None:
    """The single alternative of ``kind`` ("object" or "array"), if there is exactly one."""
    found = [
        b
        for b in doc.branches(node)
        if b.get("type") == kind
        or (kind == "object" and "properties" in b)
        or (kind == "array" and "items" in b)
    ]
    return found[0] if len(found) == 1 else None


def compare(event_type: str, old: dict[str, Any], new: dict[str, Any]) -> list[Violation]:
    """Every breaking change from ``old`` to ``new`` (two JSON Schemas of one event type)."""
    out: list[Violation] = []
    _compare_node(event_type, _Doc(old), old, _Doc(new), new, "", out)
    return out


def _compare_node(
    event_type: str,
    od: _Doc,
    old: dict[str, Any],
    nd: _Doc,
    new: dict[str, Any],
    path: str,
    out: list[Violation],
) -> None:
    name = path or "(root)"
    old_types, new_types = _types(od, old), _types(nd, new)
    lost = old_types - new_types
    if lost:
        out.append(
            Violation(
                event_type,
                name,
                RETYPED,
                f"{'|'.join(sorted(old_types))} -> {'|'.join(sorted(new_types))}",
            )
        )
        return
    old_values, new_values = _values(od, old), _values(nd, new)
    if new_values is not None:
        if old_values is None:
            out.append(Violation(event_type, name, NARROWED_ENUM, f"now only {_show(new_values)}"))
        else:
            gone = [v for v in old_values if v not in new_values]
            if gone:
                out.append(
                    Violation(event_type, name, NARROWED_ENUM, f"{_show(gone)} no longer allowed")
                )
    old_obj, new_obj = _one(od, old, "object"), _one(nd, new, "object")
    if old_obj is not None and new_obj is not None:
        _compare_object(event_type, od, old_obj, nd, new_obj, path, out)
    old_arr, new_arr = _one(od, old, "array"), _one(nd, new, "array")
    if old_arr is not None and new_arr is not None:
        oi, ni = old_arr.get("items"), new_arr.get("items")
        if isinstance(oi, dict) and isinstance(ni, dict):
            _compare_node(event_type, od, oi, nd, ni, f"{path}[]", out)


def _compare_object(
    event_type: str,
    od: _Doc,
    old: dict[str, Any],
    nd: _Doc,
    new: dict[str, Any],
    path: str,
    out: list[Violation],
) -> None:
    old_props: dict[str, Any] = old.get("properties", {})
    new_props: dict[str, Any] = new.get("properties", {})
    old_req, new_req = set(old.get("required", [])), set(new.get("required", []))
    for prop, old_schema in old_props.items():
        field = f"{path}.{prop}" if path else prop
        if prop not in new_props:
            out.append(Violation(event_type, field, REMOVED, "consumers read it"))
            continue
        _compare_node(event_type, od, old_schema, nd, new_props[prop], field, out)
    for prop in sorted(new_req - old_req):
        field = f"{path}.{prop}" if path else prop
        why = "records of older producers lack it" if prop in old_props else "a new field"
        out.append(Violation(event_type, field, NEWLY_REQUIRED, why))


def _show(values: Sequence[object]) -> str:
    return ", ".join(orjson.dumps(v).decode() for v in values)


# --- git history ------------------------------------------------------------------------------


def _git(repo: Path, *args: str) -> str:
    run = subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=False, timeout=60
    )
    if run.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {run.stderr.strip()}")
    return run.stdout


def previous_version(repo: Path, path: str, current: Any) -> tuple[str, Any] | None:
    """(revision, schema) of ``path`` to compare ``current`` with, or None for a new file."""
    head = _show_json(repo, "HEAD", path)
    if head is None:
        return None  # not committed yet: a new event type or version
    if head != current:
        return "HEAD", head  # the change being made
    last = _git(repo, "log", "--format=%H", "-n", "1", "HEAD", "--", path).strip()
    if not last:  # pragma: no cover - HEAD has the file, so some commit added it
        return None
    before = _show_json(repo, f"{last}^", path)
    # the change that landed last (None: that commit added the file)
    return None if before is None else (f"{last[:12]}^", before)


def _show_json(repo: Path, rev: str, path: str) -> Any:
    run = subprocess.run(
        ["git", "show", f"{rev}:{path}"], cwd=repo, capture_output=True, check=False, timeout=60
    )
    return orjson.loads(run.stdout) if run.returncode == 0 else None


def check_history(
    repo: Path, outdir: Path | None = None, rendered: dict[str, str] | None = None
) -> Iterator[tuple[str, str, list[Violation]]]:
    """(event type, compared with, violations) of every schema file of ``rendered`` (default:
    the export of every registered event type), whose committed copies live in ``outdir``."""
    if _git(repo, "rev-parse", "--is-shallow-repository").strip() == "true":
        raise RuntimeError(
            "a shallow clone has no history to compare with: `git fetch --unshallow` first"
        )
    repo = Path(_git(repo, "rev-parse", "--show-toplevel").strip()).resolve()
    rel = (outdir or export.default_outdir()).resolve().relative_to(repo)
    files = export.render() if rendered is None else rendered
    for name, text in sorted(files.items()):
        if not name.endswith(export.SCHEMA_SUFFIX):
            continue
        event_type = name.removesuffix(export.SCHEMA_SUFFIX)
        current = orjson.loads(text)
        prev = previous_version(repo, f"{rel.as_posix()}/{name}", current)
        if prev is None:
            yield event_type, "(new)", []
            continue
        yield event_type, prev[0], compare(event_type, prev[1], current)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m schemas.compat", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("--repo", type=Path, default=export.default_outdir().parent)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    failures: list[Violation] = []
    checked = 0
    try:
        for event_type, against, violations in check_history(args.repo):
            checked += 1
            failures.extend(violations)
            if args.verbose:
                print(f"{event_type}: against {against}: {len(violations)} breaking change(s)")
    except RuntimeError as e:
        print(f"contracts: {e}", file=sys.stderr)
        return 2
    for v in failures:
        print(f"BREAKING {v}", file=sys.stderr)
    if failures:
        print(
            f"contracts: {len(failures)} breaking change(s) within a version: publish a new"
            " .vN type instead (shared/schemas/README.md)",
            file=sys.stderr,
        )
        return 1
    print(f"contracts: {checked} event schemas compatible with their previous committed version")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
