"""``make bench``: every scenario beside a baseline measured in the same run, on the same servers.

A scenario is a module of this folder exposing ``async def run(servers) -> list[dict]``; each
row is ``{"scenario", "size", "metric", "value", "unit", "baseline", "baseline_value",
"ratio"}`` with ``ratio = value / baseline_value``. A module may also expose
``async def close()`` (called once after its last run, to drop what it kept between runs)
and ``NOTES`` (lines the report quotes under its header, e.g. how a scenario was bounded).

Every scenario runs ``BENCH_REPEAT`` times (default 3); the table reports the median of each
figure and its spread (min-max across the runs), and is written to
``benchmarks/results/latest.json`` and ``latest.md`` and printed.

Servers: the same selection as the tests (tests/servers.py). ``BENCH_ONLY=relay,forum``
runs a subset. Sizes are set per scenario by environment variables (see each module), so a
quick run is possible, e.g. ``BENCH_REPEAT=1 BENCH_THREADS=1000 make bench``.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# run as a script, this folder would come first on sys.path and benchmarks/forum.py would
# shadow the forum package: scenarios are imported as benchmarks.<name> from the root instead
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]
sys.path.insert(0, str(ROOT))

from tests.servers import resolve  # noqa: E402

#: scenario modules in the order they run; a missing one is skipped with a note
SCENARIOS = (
    "reputation", "relay", "forum", "search", "gatherings", "system", "notifications", "rebuild"
)  # fmt: skip
RESULTS = ROOT / "benchmarks" / "results"
FIELDS = ("scenario", "size", "metric", "value", "unit", "baseline", "baseline_value", "ratio")


def summarise(runs: Sequence[Sequence[dict[str, Any]]]) -> list[dict[str, Any]]:
    """One row per (scenario, size, metric): medians of value, baseline and ratio across
    the runs, with their spreads."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for rows in runs:
        for r in rows:
            groups.setdefault((r["scenario"], r["size"], r["metric"]), []).append(r)
    out = []
    for rows in groups.values():
        first = rows[0]
        vals = [float(r["value"]) for r in rows]
        bases = [float(r["baseline_value"]) for r in rows if r.get("baseline_value") is not None]
        ratios = [float(r["ratio"]) for r in rows if r.get("ratio") is not None]
        out.append(
            {
                **{k: first.get(k) for k in FIELDS},
                "value": statistics.median(vals),
                "value_min": min(vals),
                "value_max": max(vals),
                "baseline_value": statistics.median(bases) if bases else None,
                "baseline_min": min(bases) if bases else None,
                "baseline_max": max(bases) if bases else None,
                "ratio": statistics.median(ratios) if ratios else None,
                "runs": len(rows),
            }
        )
    return out


def _num(x: float | None) -> str:
    if x is None:
        return "-"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.3g}" if abs(x) < 10 else f"{x:.1f}"


def markdown(rows: list[dict[str, Any]], header: str) -> str:
    lines = [
        header,
        "",
        "| scenario | size | metric | ours (median, min-max) | baseline | baseline (median, "
        "min-max) | ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ours = f"{_num(r['value'])} {r['unit']} ({_num(r['value_min'])}-{_num(r['value_max'])})"
        base = (
            f"{_num(r['baseline_value'])} {r['unit']} "
            f"({_num(r['baseline_min'])}-{_num(r['baseline_max'])})"
            if r["baseline_value"] is not None
            else "-"
        )
        ratio = f"{r['ratio']:.2f}x" if r["ratio"] is not None else "-"
        lines.append(
            f"| {r['scenario']} | {r['size']} | {r['metric']} | {ours} | {r['baseline']} "
            f"| {base} | {ratio} |"
        )
    return "\n".join(lines) + "\n"


async def main() -> int:
    repeat = int(os.environ.get("BENCH_REPEAT", "3"))
    only = {s for s in os.environ.get("BENCH_ONLY", "").split(",") if s}
    servers = resolve()
    all_rows: list[dict[str, Any]] = []
    notes: list[str] = []
    started = time.perf_counter()
    try:
        for name in SCENARIOS:
            if only and name not in only:
                continue
            try:
                mod = importlib.import_module(f"benchmarks.{name}")
            except ModuleNotFoundError as e:
                if e.name != f"benchmarks.{name}":
                    raise
                notes.append(f"scenario `{name}` not present: skipped")
                continue
            notes += list(getattr(mod, "NOTES", ()))
            runs = []
            try:
                for i in range(repeat):
                    print(f"[bench] {name}: run {i + 1}/{repeat}", flush=True)
                    runs.append(await mod.run(servers))
            finally:
                if hasattr(mod, "close"):
                    await mod.close()
            all_rows += summarise(runs)
    finally:
        servers.stop()
    header = (
        f"# make bench — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n\n"
        f"servers: {servers.source} (Kafka {servers.kafka}, MongoDB {servers.mongodb}); "
        f"{repeat} run(s) per scenario; {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; took {time.perf_counter() - started:.0f} s. "
        "ratio = ours / baseline (throughput: higher is better; latency: lower is better)."
        + "".join(f"\n\n- {n}" for n in notes)
    )
    table = markdown(all_rows, header)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.md").write_text(table)
    (RESULTS / "latest.json").write_text(
        json.dumps(
            {"servers": servers.source, "repeat": repeat, "notes": notes, "rows": all_rows},
            indent=2,
        )
        + "\n"
    )
    print("\n" + table)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
