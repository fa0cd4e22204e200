"""The witnesses of ZK mode's step circuits, built from the STF's states (#8).

A step's witness is what the circuit is given besides its public input: the leaves it
opens, in the ZK layout of the state before (:mod:`rollbook.exchange.zkroot`), their
Merkle paths, and the signed orders. Paths are taken in the circuit's order: a leaf
written earlier in the step is in the tree when a later path is read (the maker's
order slot before the taker's, the maker's account before the taker's, both before
the insurance fund's).

The written leaves come from the state after the STF applied the step, so the
circuit is checked against the STF, never against a second implementation of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rollbook.crypto.eddsa import decode_signature
from rollbook.crypto.poseidon import P, poseidon
from rollbook.exchange.env import TxEnv
from rollbook.exchange.leaves import INSURANCE_FUND, Account, OrderSlot, slot_key
from rollbook.exchange.orders import SignedOrder
from rollbook.exchange.state import State
from rollbook.exchange.txs import Fill
from rollbook.exchange.zkroot import (
    ACCOUNT_VALUES,
    ZkCommitment,
    account_values,
    leaf_hash,
    leaf_values,
    order_index,
    zk_state,
)

IDENTITY = [0, 1, 0, 0, 1]
"""A signature's inputs when the circuit does not check one: the identity for A and
R8, S = 0."""
INSTRUMENT_VALUES = 31
GLOBAL_VALUES = 12
ORACLE_VALUES = 6


@dataclass(frozen=True)
class Shape:
    """A fill circuit's bounds: positions per account and instruments per batch."""

    positions: int = 8
    instruments: int = 16


DEFAULT_SHAPE = Shape()


def domain_elements(separator: bytes) -> list[int]:
    """The deployment's domain as the circuits take it: its two 128-bit halves."""
    return [int.from_bytes(separator[:16], "big"), int.from_bytes(separator[16:], "big")]


def working_inputs(state: State, layout: ZkCommitment, shape: Shape) -> dict[str, object]:
    """What a batch opens of the state: the instruments (id = place), the globals, the
    oracle set and the insurance fund's account."""
    listed, cache = [], []
    for place in range(shape.instruments):
        instrument = state.get(("inst", place))
        listed.append(int(instrument is not None))
        cache.append([0] * INSTRUMENT_VALUES if instrument is None else leaf_values(instrument))
    if any(len(values) != INSTRUMENT_VALUES for values in cache):
        raise ValueError("an instrument's values are not of the circuit's shape")
    for key, _ in state.items():
        if key[0] == "inst" and not 0 <= int(str(key[1])) < shape.instruments:
            raise ValueError(f"instrument {key[1]} is beyond the circuit's {shape.instruments}")
    return {
        "components": layout.components,
        "listed": listed,
        "cache": cache,
        "globals": leaf_values(state.globals()),
        "oracle": leaf_values(state.oracle()),
        "fund": _account(state, layout, INSURANCE_FUND),
    }


def order_fields(signed: SignedOrder) -> list[int]:
    """An order's fields as the circuit takes them (``Order.values``)."""
    return list(signed.order.values())


def fill_witness(
    before: State, after: State, tx: Fill, env: TxEnv, shape: Shape = DEFAULT_SHAPE
) -> dict[str, object]:
    """FillTest's inputs for ``tx`` applied by the STF to ``before`` giving ``after``."""
    layout = zk_state(before.items())
    inputs = working_inputs(before, layout, shape)
    sides = (tx.maker, tx.taker)
    sig, exists, slots, continuing, slot_paths = [], [], [], [], []
    for signed in sides:
        o = signed.order
        at = order_index(o.account, o.slot)
        leaf = before.get(slot_key(o.account, o.slot))
        slot = leaf if isinstance(leaf, OrderSlot) else OrderSlot()
        same = leaf is not None and slot.nonce == o.nonce and slot.order_hash == signed.digest
        exists.append(int(leaf is not None))
        slots.append(leaf_values(slot) if leaf is not None else [0] * 8)
        continuing.append(int(same))
        if same:
            sig.append(IDENTITY)
        else:
            key, signature = decode_signature(signed.signature)
            sig.append([key.x, key.y, signature.s, signature.r8.x, signature.r8.y])
        slot_paths.append(layout.orders.path(at))
        written = after.get(slot_key(o.account, o.slot))
        if not isinstance(written, OrderSlot):
            raise ValueError("the STF wrote no order slot for a fill's order")
        layout.orders.set(at, leaf_hash(written))
    after_layout = zk_state(after.items())
    accounts, account_paths, lists, places = [], [], [], []
    for signed in sides:
        index = signed.order.account
        accounts.append(_account(before, layout, index))
        account_paths.append(layout.accounts.path(index))
        layout.accounts.set(index, after_layout.accounts.get(index))
        held = before.account(index).instruments
        entries = []
        for instrument in held:
            p = before.position(index, instrument)
            entries.append([instrument % P, *(v % P for v in p)])
        if len(entries) > shape.positions:
            raise ValueError(f"account {index} holds more than {shape.positions} positions")
        lists.append(entries + [[0] * 5] * (shape.positions - len(entries)))
        traded = signed.order.instrument
        places.append(held.index(traded) if traded in held else len(held))
    return {
        **inputs,
        "fund_siblings": layout.accounts.path(INSURANCE_FUND),
        "now": env.timestamp,
        "domain": domain_elements(env.domain_separator),
        "size": tx.size,
        "order": [order_fields(s) for s in sides],
        "sig": sig,
        "slot_exists": exists,
        "slot": slots,
        "continuing": continuing,
        "slot_siblings": slot_paths,
        "account": accounts,
        "account_siblings": account_paths,
        "list": lists,
        "t": places,
    }


def fill_record(tx: Fill) -> list[int]:
    """What a batch publishes of a fill: (instrument, maker, taker, maker's side, size,
    price)."""
    m, t = tx.maker.order, tx.taker.order
    return [m.instrument, m.account, t.account, int(m.side), tx.size, m.price]


def fill_claim(old_root: int, new_root: int, env: TxEnv, record: Sequence[int]) -> int:
    """FillTest's public input."""
    return poseidon(
        [old_root, new_root, *domain_elements(env.domain_separator), env.timestamp, *record]
    )


def _account(state: State, layout: ZkCommitment, index: int) -> list[int]:
    account = state.get(("acct", index))
    if not isinstance(account, Account):
        raise ValueError(f"no account {index}")
    values = account_values(account, layout.position_roots[index])
    assert len(values) == ACCOUNT_VALUES
    return values


__all__ = ["DEFAULT_SHAPE", "Shape", "fill_claim", "fill_record", "fill_witness"]
