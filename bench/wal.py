"""Write-ahead log: durable group commits per second, SQLite (the node's store) and,
when the ``lmdb`` package is importable, LMDB for comparison.

``rollbook bench wal [--records N] [--group G ...]``: writes N records of 600 bytes
(about a logged signed order) in groups of G, one durable commit per group (SQLite WAL
mode with ``synchronous=FULL``; LMDB with ``sync=True``), into a temporary directory
on the project's disk. Headline: records/s at the largest group size with SQLite.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from rollbook.node.wal import Log

BODY = os.urandom(600)


def sqlite_rate(directory: Path, records: int, group: int) -> float:
    log = Log(directory / f"sqlite-{group}.db")
    started = time.perf_counter()
    seq = 0
    while seq < records:
        batch = [(seq + i + 1, BODY) for i in range(group)]
        log.append(batch)
        seq += group
    elapsed = time.perf_counter() - started
    log.close()
    return seq / elapsed


def lmdb_rate(directory: Path, records: int, group: int) -> float | None:
    try:
        import lmdb  # type: ignore[import-not-found]
    except ImportError:
        return None
    env = lmdb.open(str(directory / f"lmdb-{group}"), map_size=1 << 30, sync=True)
    started = time.perf_counter()
    seq = 0
    while seq < records:
        with env.begin(write=True) as txn:
            for i in range(group):
                txn.put((seq + i + 1).to_bytes(8, "big"), BODY)
        seq += group
    elapsed = time.perf_counter() - started
    env.close()
    return seq / elapsed


def run(argv: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="rollbook bench wal")
    parser.add_argument("--records", type=int, default=4000)
    parser.add_argument("--group", type=int, nargs="+", default=[1, 8, 64])
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(dir=Path(__file__).resolve().parents[1]) as tmp:
        for group in args.group:
            records = args.records if group > 1 else min(args.records, 500)
            rows.append(
                {
                    "group": group,
                    "sqlite_records_per_s": round(sqlite_rate(Path(tmp), records, group)),
                    "lmdb_records_per_s": _round(lmdb_rate(Path(tmp), records, group)),
                }
            )
    best = rows[-1]
    return {
        "headline": {
            "name": f"durable WAL records/s (SQLite, groups of {best['group']})",
            "value": best["sqlite_records_per_s"],
            "unit": "records/s",
            "goal": 5000,
        },
        "rows": rows,
        "record_bytes": len(BODY),
    }


def _round(value: float | None) -> int | None:
    return None if value is None else round(value)
