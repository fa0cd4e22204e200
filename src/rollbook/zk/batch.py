"""A batch of fills for the fill batch circuit (``circuits/batch.circom``), #8.

A ZK batch proves a run of fills in one proof: S step slots, each a fill or unused,
from the state root before to the root after, with the batch's public data bound by
the one public input ``claim = sha256(old_root ‖ new_root ‖ sha256(data)) mod r``
(:mod:`rollbook.zk.claim`). The data is the header (:mod:`rollbook.zk.batchdata`'s 37
bytes, with no L1 inputs and no withdrawals), then a rest of ``kind (1: fills) ‖ time (u64) ‖
domain (32 bytes)`` and one 16-byte record per slot:

====== ===== ==================================================
bits   width field
====== ===== ==================================================
127    1     the maker's side (0 buy, 1 sell)
120    7     the instrument (below the batch's 128 instruments)
92     28    the maker's account
64     28    the taker's account
32     32    the size, in the instrument's lots
0      32    the maker's price, in the instrument's ticks
====== ===== ==================================================

An unused slot's record is all zeros. A fill that does not fit a record (an account
at or beyond 2^28, a size or price beyond 2^32 lots or ticks) cannot go in a ZK batch;
the sequencer keeps it out (docs/design/zk.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from rollbook.exchange.env import TxEnv
from rollbook.exchange.leaves import INSURANCE_FUND
from rollbook.exchange.state import State
from rollbook.exchange.txs import Fill
from rollbook.exchange.zkroot import ORDER_DEPTH, zk_state
from rollbook.zk.batchdata import HEADER_BYTES, BatchData
from rollbook.zk.claim import claim, data_hash
from rollbook.zk.witness import (
    DEFAULT_SHAPE,
    IDENTITY,
    Shape,
    domain_elements,
    fill_witness,
    working_inputs,
)

FILLS = 1
RECORD_BYTES = 16
REST_HEADER_BYTES = 1 + 8 + 32
"""A fill batch's rest starts with its kind, its time and the domain."""
WIDTHS = (1, 7, 28, 28, 32, 32)
STEP_INPUTS = (
    "size",
    "order",
    "sig",
    "slot_exists",
    "slot",
    "continuing",
    "slot_siblings",
    "account",
    "account_siblings",
    "list",
    "t",
)


class RecordTooWide(ValueError):
    """A fill whose record does not fit the batch's 16 bytes."""


@dataclass(frozen=True)
class AppliedFill:
    """A fill as the STF applied it: the state before and after, and its context."""

    before: State
    after: State
    tx: Fill
    env: TxEnv


def record(fill: AppliedFill) -> bytes:
    """The fill's 16-byte record (module docstring)."""
    maker, taker = fill.tx.maker.order, fill.tx.taker.order
    instrument = fill.before.instrument(maker.instrument)
    fields = (
        int(maker.side),
        maker.instrument,
        maker.account,
        taker.account,
        fill.tx.size // instrument.lot,
        maker.price // instrument.tick,
    )
    packed = 0
    for value, width in zip(fields, WIDTHS, strict=True):
        if not 0 <= value < 1 << width:
            raise RecordTooWide(f"a fill's field {value} does not fit {width} bits")
        packed = packed << width | value
    return packed.to_bytes(RECORD_BYTES, "big")


def fill_rest(now: int, separator: bytes, records: Sequence[bytes], slots: int) -> bytes:
    """A fill batch's rest: the kind, the time, the domain and ``slots`` records
    (unused ones zeros)."""
    if len(records) > slots:
        raise ValueError(f"{len(records)} fills do not fit {slots} slots")
    padding = bytes(RECORD_BYTES) * (slots - len(records))
    return bytes([FILLS]) + now.to_bytes(8, "big") + separator + b"".join(records) + padding


def batch_witness(
    start: State,
    fills: Sequence[AppliedFill],
    header: BatchData,
    slots: int,
    shape: Shape = DEFAULT_SHAPE,
) -> tuple[dict[str, Any], bytes, int]:
    """The fill batch circuit's inputs, the batch's data and its claim, for ``fills``
    applied one after the other from ``start`` (all at one block time). ``header``
    places the batch (its chain, index, where the L1 inputs and withdrawals stand); a
    fill batch takes no L1 input and makes no withdrawal."""
    if header.inputs or header.withdrawals:
        raise ValueError("a fill batch takes no L1 input and makes no withdrawal")
    if not fills:
        raise ValueError("a batch holds at least one fill")
    env = fills[0].env
    if any(f.env.timestamp != env.timestamp for f in fills):
        raise ValueError("a fill batch's fills share one block time")
    states = [start] + [f.after for f in fills[:-1]]
    if any(f.before.items() != state.items() for f, state in zip(fills, states, strict=True)):
        raise ValueError("each fill must start from the state the one before it left")
    layout = zk_state(start.items())
    old_root = layout.root()
    inputs: dict[str, Any] = working_inputs(start, layout, shape)
    steps = [fill_witness(layout, f.before, f.after, f.tx, shape) for f in fills]
    unused = _unused_step(shape)
    for name in STEP_INPUTS:
        inputs[name] = [step[name] for step in steps] + [unused[name]] * (slots - len(steps))
    end = zk_state(fills[-1].after.items())
    inputs["fund_siblings"] = end.accounts.path(INSURANCE_FUND)
    records = [record(f) for f in fills]
    rest = fill_rest(env.timestamp, env.domain_separator, records, slots)
    data = replace(header, rest=rest).encode()
    inputs["header"] = list(data[:HEADER_BYTES])
    inputs["now"] = env.timestamp
    inputs["domain"] = domain_elements(env.domain_separator)
    return inputs, data, claim(old_root, end.root(), data_hash(data))


def _unused_step(shape: Shape) -> dict[str, Any]:
    """An unused slot's inputs: zeros of the shapes a fill's take."""
    pair = [[0] * 10, [0] * 10]
    return {
        "size": 0,
        "order": pair,
        "sig": [IDENTITY, IDENTITY],
        "slot_exists": [0, 0],
        "slot": [[0] * 8, [0] * 8],
        "continuing": [0, 0],
        "slot_siblings": [[0] * ORDER_DEPTH, [0] * ORDER_DEPTH],
        "account": [[0] * 18, [0] * 18],
        "account_siblings": [[0] * 32, [0] * 32],
        "list": [[[0] * 5] * shape.positions] * 2,
        "t": [0, 0],
    }
