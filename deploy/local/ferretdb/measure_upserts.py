"""Measure unordered bulk upserts by ``_id`` against collection size, server beside server.

    .venv/bin/python deploy/local/ferretdb/measure_upserts.py \
        --binary "before=.cache/bin/ferretdb-local-<key>" \
        --binary "after=.cache/bin/ferretdb-local-<key> -sqlite-params ..."

Each ``--binary`` is ``label=path [extra arguments]``; it is started on its own port with a
fresh data directory (and stopped, its directory removed, at the end). ``--url label=...``
measures an already running server instead (never point it at the shared server: the
collection is filled with 200k documents).

For each size (default 10k and 200k documents; ``--shape small``: small JSON documents with
three secondary indexes, ``--shape ledger``: like the reputation's ledger lines) it times one
unordered ``bulk_write`` of 5,000 ``UpdateOne(..., upsert=True)`` on NEW ``_id`` s (each one
inserts), then ``--rounds`` such writes on EXISTING ``_id`` s (each one updates), and reports
documents per second per write and the size of SQLite's WAL files (``--binary`` only).
This is a diagnostic for the embedded store, not ``make bench``.
"""

from __future__ import annotations

import argparse
import random
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pymongo import ASCENDING, DESCENDING, MongoClient, UpdateOne

Doc = dict[str, Any]
T0 = datetime(2026, 1, 1, tzinfo=UTC)
BATCH = 5_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def doc(i: int) -> Doc:
    return {
        "_id": f"u{i:07}",
        "user": f"user{i % 5_000:05}",
        "day": (T0 + timedelta(days=i % 365)).strftime("%Y-%m-%d"),
        "points": i % 97,
        "events": i % 7,
        "updated_at": T0 + timedelta(seconds=i),
    }


def upsert(i: int) -> UpdateOne:
    d = doc(i)
    return UpdateOne(
        {"_id": d["_id"]},
        {
            "$set": {"user": d["user"], "day": d["day"], "updated_at": d["updated_at"]},
            "$inc": {"points": 3, "events": 1},
        },
        upsert=True,
    )


def ledger_doc(i: int) -> Doc:
    """Shaped like the reputation's ledger lines (writes.ledger_op)."""
    user, event = f"user{i % 5_000:05}", f"e{i:08}"
    at = (T0 + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {
        "_id": f"{user}|{event}",
        "u": user,
        "eid": event,
        "k": f"{at}|{event}",
        "parts": {"p": f"{1:012d}|10|vote|101"},
    }


def ledger_upsert(i: int) -> UpdateOne:
    d = ledger_doc(i)
    return UpdateOne(
        {"_id": d["_id"]},
        {
            "$set": {"u": d["u"], "eid": d["eid"], "k": d["k"]},
            "$max": {"parts.g0123456789abcdef": f"{2:012d}|5|accept|100"},
        },
        upsert=True,
    )


SHAPES: dict[str, Any] = {
    # documents, upserts, indexes
    "small": (
        doc,
        upsert,
        [
            [("user", ASCENDING), ("day", DESCENDING)],
            [("day", ASCENDING), ("points", DESCENDING)],
            [("updated_at", DESCENDING)],
        ],
    ),
    "ledger": (ledger_doc, ledger_upsert, [[("u", ASCENDING), ("k", DESCENDING)]]),
}


def wal_mb(data: str) -> float:
    return sum(p.stat().st_size for p in Path(data).glob("*.sqlite-wal")) / 1e6


def measure(label: str, url: str, data: str, sizes: list[int], shape: str, rounds: int) -> None:
    doc, upsert, indexes = SHAPES[shape]
    client: MongoClient[Doc] = MongoClient(url)
    db = client["measure_upserts"]
    client.drop_database(db.name)
    coll = db.docs
    for keys in indexes:
        coll.create_index(keys)
    rng = random.Random(1)
    print(f"\n== {label} ({url}), {shape} documents")
    filled, next_new = 0, 10_000_000
    for n in sizes:
        t = time.perf_counter()
        for start in range(filled, n, 2_000):
            coll.insert_many([doc(i) for i in range(start, min(n, start + 2_000))], ordered=False)
        fill_s = time.perf_counter() - t
        filled = n
        new = [upsert(i) for i in range(next_new, next_new + BATCH)]
        next_new += BATCH
        t = time.perf_counter()
        r = coll.bulk_write(new, ordered=False)
        new_s = time.perf_counter() - t
        assert r.upserted_count == BATCH, r.bulk_api_result
        rates = []
        for _ in range(rounds):
            existing = [upsert(i) for i in rng.sample(range(n), BATCH)]
            t = time.perf_counter()
            r = coll.bulk_write(existing, ordered=False)
            rates.append(BATCH / (time.perf_counter() - t))
            assert r.matched_count == BATCH, r.bulk_api_result
        print(
            f"{n:>7} docs (fill {fill_s:5.1f} s): upsert NEW {BATCH / new_s:6.0f} docs/s, "
            f"upsert EXISTING {' '.join(f'{x:5.0f}' for x in rates)} docs/s"
            + (f", WAL {wal_mb(data):.0f} MB" if data else ""),
            flush=True,
        )
    client.drop_database(db.name)
    client.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--binary", action="append", default=[], help="'label=path [args]'")
    ap.add_argument("--url", action="append", default=[], help="label=mongodb://... (running)")
    ap.add_argument("--sizes", default="10000,200000", help="comma-separated document counts")
    ap.add_argument("--shape", choices=sorted(SHAPES), default="small")
    ap.add_argument("--rounds", type=int, default=3, help="EXISTING batches per size")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    servers = [tuple(u.split("=", 1)) for u in args.url]
    procs: list[subprocess.Popen[bytes]] = []
    dirs: list[str] = []
    try:
        for spec in args.binary:
            label, cmd = spec.split("=", 1)
            port, data = free_port(), tempfile.mkdtemp(prefix="ferretdb-upserts-")
            dirs.append(data)
            argv = shlex.split(cmd)
            procs.append(
                subprocess.Popen(
                    [*argv, "-listen", f"127.0.0.1:{port}", "-dir", data],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            servers.append((label, f"mongodb://127.0.0.1:{port}"))
        time.sleep(1.5)
        data_dirs = dict(zip([b.split("=", 1)[0] for b in args.binary], dirs, strict=True))
        for label, url in servers:
            measure(label, url, data_dirs.get(label, ""), sizes, args.shape, args.rounds)
    finally:
        for p in procs:
            p.terminate()
            p.wait(10)
        for d in dirs:
            shutil.rmtree(d, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
