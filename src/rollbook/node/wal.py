"""The sequencer's write-ahead log and snapshots, in SQLite.

An input is acknowledged only once the transaction that holds it has committed
(``synchronous=FULL`` in WAL journal mode: the commit is on disk when ``commit()``
returns). Inputs that arrive while a commit is in flight join the next one, so one
fsync covers many inputs (group commit); :mod:`rollbook.node.service` drives that.

Why SQLite rather than LMDB: both were measured on this machine for the same
workload (groups of 1-64 records of ~600 bytes, one durable commit per group;
``rollbook bench wal``); docs/benchmarks.md records the figures. SQLite is in the
standard library, its WAL mode gives one fsync per commit, and its throughput was
within noise of LMDB's here: the fsync dominates.

Tables:

- ``inputs(seq, body)``: every accepted input record, in order.
- ``snapshots(seq, body)``: the sequencer core as of input ``seq`` (a pickle of
  :class:`~rollbook.node.core.Sequencer`); older ones are pruned.
- ``meta(key, value)``: the genesis (``genesis``) and the sequencer's key.

Start-up reads the newest snapshot and replays the inputs after it.
"""

from __future__ import annotations

import pickle
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

KEEP_SNAPSHOTS = 2


class Log:
    """One node's durable history. Use from one thread at a time."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("CREATE TABLE IF NOT EXISTS inputs (seq INTEGER PRIMARY KEY, body BLOB)")
        self.db.execute("CREATE TABLE IF NOT EXISTS snapshots (seq INTEGER PRIMARY KEY, body BLOB)")
        self.db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB)")

    def close(self) -> None:
        self.db.close()

    # -- meta --------------------------------------------------------------------------

    def put_meta(self, key: str, value: Any) -> None:
        blob = pickle.dumps(value, protocol=5)
        with self._tx():
            self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, blob))

    def get_meta(self, key: str) -> Any:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else pickle.loads(row[0])

    # -- inputs ------------------------------------------------------------------------

    def append(
        self, records: Sequence[tuple[int, bytes]], snapshot: tuple[int, bytes] | None = None
    ) -> None:
        """Write ``(seq, body)`` records, and optionally a snapshot, in one durable
        commit."""
        with self._tx():
            self.db.executemany("INSERT INTO inputs VALUES (?, ?)", records)
            if snapshot is not None:
                self.db.execute("INSERT OR REPLACE INTO snapshots VALUES (?, ?)", snapshot)
                self.db.execute(
                    "DELETE FROM snapshots WHERE seq NOT IN"
                    " (SELECT seq FROM snapshots ORDER BY seq DESC LIMIT ?)",
                    (KEEP_SNAPSHOTS,),
                )

    def records_after(self, seq: int) -> Iterator[tuple[int, bytes]]:
        cursor = self.db.execute("SELECT seq, body FROM inputs WHERE seq > ? ORDER BY seq", (seq,))
        yield from cursor

    def record(self, seq: int) -> bytes | None:
        row = self.db.execute("SELECT body FROM inputs WHERE seq = ?", (seq,)).fetchone()
        return None if row is None else bytes(row[0])

    def last_seq(self) -> int:
        row = self.db.execute("SELECT MAX(seq) FROM inputs").fetchone()
        return int(row[0] or 0)

    def latest_snapshot(self) -> tuple[int, bytes] | None:
        row = self.db.execute(
            "SELECT seq, body FROM snapshots ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        return None if row is None else (int(row[0]), bytes(row[1]))

    def _tx(self) -> _Transaction:
        return _Transaction(self.db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, *_: object) -> None:
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")
