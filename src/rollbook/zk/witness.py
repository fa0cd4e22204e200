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

from dataclasses import dataclass

from rollbook.crypto.eddsa import decode_signature
from rollbook.crypto.poseidon import P
from rollbook.exchange.leaves import INSURANCE_FUND, OrderSlot, instrument_key, slot_key
from rollbook.exchange.state import State
from rollbook.exchange.txs import Fill
from rollbook.exchange.zkroot import (
    ZkCommitment,
    account_values,
    hash_elements,
    leaf_hash,
    leaf_values,
    order_index,
    positions_hash,
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
    for key in state.keys_of_kind("inst"):
        if not 0 <= int(str(key[1])) < shape.instruments:
            raise ValueError(f"instrument {key[1]} is beyond the circuit's {shape.instruments}")
    listed, cache = [], []
    for place in range(shape.instruments):
        instrument = state.get(instrument_key(place))
        listed.append(int(instrument is not None))
        cache.append([0] * INSTRUMENT_VALUES if instrument is None else leaf_values(instrument))
    return {
        "components": layout.components,
        "listed": listed,
        "cache": cache,
        "globals": leaf_values(state.globals()),
        "oracle": leaf_values(state.oracle()),
        "fund": account_inputs(state, INSURANCE_FUND),
    }


def fill_witness(
    layout: ZkCommitment, before: State, after: State, tx: Fill, shape: Shape = DEFAULT_SHAPE
) -> dict[str, object]:
    """One fill slot's inputs for ``tx`` applied by the STF to ``before`` giving
    ``after``. ``layout`` is the ZK layout of ``before`` as far as a fill's paths go
    (the orders and accounts trees); the fill's leaves are written into it, so the
    next fill's paths follow."""
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
    accounts, account_paths, lists, places = [], [], [], []
    for signed in sides:
        index = signed.order.account
        accounts.append(account_inputs(before, index))
        account_paths.append(layout.accounts.path(index))
        layout.accounts.set(index, hash_elements(account_inputs(after, index)))
        held = before.account(index).instruments
        if len(held) > shape.positions:
            raise ValueError(f"account {index} holds more than {shape.positions} positions")
        entries = [[i, *(v % P for v in before.position(index, i))] for i in held]
        lists.append(entries + [[0] * 5] * (shape.positions - len(entries)))
        traded = signed.order.instrument
        places.append(held.index(traded) if traded in held else len(held))
    return {
        "size": tx.size,
        "order": [list(s.order.values()) for s in sides],
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


def account_inputs(state: State, index: int) -> list[int]:
    """An account's values in the ZK layout (``zkroot.account_values``), from the
    state itself."""
    if not state.has_account(index):
        raise ValueError(f"no account {index}")
    account = state.account(index)
    held = [(i, state.position(index, i)) for i in account.instruments]
    return account_values(account, positions_hash(held))
