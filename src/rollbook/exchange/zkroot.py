"""ZK mode's state root: the same leaves, in Poseidon trees a circuit can afford (#8).

The optimistic root commits to every leaf in one compact keccak tree keyed by 256-bit
paths. A circuit pays ~250 constraints per level per leaf it opens, so ZK mode commits
to the same state in a denser layout (docs/design/zk.md, "The state tree"):

- **accounts** by index (depth 32): an account's leaf hashes its fields (the
  instrument list by its length only: :func:`account_hash`), the root of its
  **positions** (depth 6, by their place in the account's list, so the list's order
  is committed; each holds its instrument id) and the root of its **order slots**
  (depth 16, by slot). The margin check opens one account and its positions' short
  paths, not a leaf per position in a global tree.
- **instruments** by id (depth 16); **assets** by id (depth 16: the index price and the
  expiry queue); **settlements** by asset and expiry day (depth 48); **owners** by
  address (depth 160: which account an owner has, so a deposit proves an owner new);
  **withdrawals** by id (depth 32);
- the globals and the oracle set, each one hash.

``state_root = Poseidon(accounts, instruments, assets, settlements, owners,
withdrawals, globals, oracle)``.

A leaf's fields become field elements (:func:`elements`): an int ``v`` is
``v mod P`` (the state's integers are far below ``P / 2`` in size, so this is
injective), a bool 0 or 1, bytes and text their length and then 31-byte big-endian
chunks, a tuple its length and then its items. :func:`hash_elements` chains
Poseidon over them, eleven at a time after the running hash (the first call takes the
count). Every leaf hash starts with the leaf's tag, so two kinds never collide.

This module computes the root from a whole state (:func:`zk_root`); the incremental
tree for blocks, and the circuits, come next.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rollbook.commitment.poseidon_tree import PoseidonTree
from rollbook.crypto.poseidon import P, poseidon
from rollbook.exchange.leaves import (
    LEAF_TAGS,
    Account,
    AssetPrice,
    ExpiryQueue,
    Instrument,
    Leaf,
    LeafKey,
    OrderSlot,
    OwnerIndex,
    Position,
    Settlement,
    Withdrawal,
)

ACCOUNT_DEPTH = 32
POSITION_DEPTH = 6  # 64 places: an account's 32, the insurance fund's 48
SLOT_DEPTH = 16
INSTRUMENT_DEPTH = 16
ASSET_DEPTH = 16
SETTLEMENT_DEPTH = 48  # asset (16 bits) then the expiry's day (32 bits)
OWNER_DEPTH = 160
WITHDRAWAL_DEPTH = 32
DAY = 86_400
CHUNK = 31  # bytes per field element of a byte string
RATE = 11  # elements per Poseidon call after the running hash


def elements(value: object) -> list[int]:
    """A leaf field's field elements (see the module's docstring)."""
    if isinstance(value, bool):
        return [int(value)]
    if isinstance(value, int):
        return [value % P]
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        chunks = [value[i : i + CHUNK] for i in range(0, len(value), CHUNK)]
        return [len(value), *(int.from_bytes(chunk, "big") for chunk in chunks)]
    if isinstance(value, tuple):
        out = [len(value)]
        for item in value:
            out += elements(item)
        return out
    raise TypeError(f"no field encoding for {type(value).__name__}")


def hash_elements(values: Sequence[int]) -> int:
    """Poseidon over any number of field elements: ``h = Poseidon(n, x0..x10)``, then
    ``h = Poseidon(h, next eleven)`` (the last call takes what is left)."""
    head = [len(values), *values[:RATE]]
    running = poseidon(head)
    for at in range(RATE, len(values), RATE):
        running = poseidon([running, *values[at : at + RATE]])
    return running


def leaf_values(leaf: Leaf, *extra: int) -> list[int]:
    """What a leaf's hash takes: its tag, its fields' elements, then ``extra``."""
    values = [LEAF_TAGS[type(leaf)]]
    for field in leaf:
        values += elements(field)
    return [*values, *extra]


def leaf_hash(leaf: Leaf, *extra: int) -> int:
    """A leaf's hash: its tag, its fields' elements, then ``extra`` (subtree roots)."""
    return hash_elements(leaf_values(leaf, *extra))


def account_values(account: Account, position_root: int, slot_root: int) -> list[int]:
    """An account's leaf: its fields with the instrument list replaced by its length
    (the positions' tree holds each instrument id at its place), then the two subtree
    roots. Every account hashes the same number of elements (19), so a circuit hashes
    it with a fixed shape."""
    values = [LEAF_TAGS[Account]]
    for name, field in zip(Account._fields, account, strict=True):
        values += [len(account.instruments)] if name == "instruments" else elements(field)
    return [*values, position_root, slot_root]


def account_hash(account: Account, position_root: int, slot_root: int) -> int:
    return hash_elements(account_values(account, position_root, slot_root))


def _tree(depth: int, leaves: Iterable[tuple[int, int]]) -> PoseidonTree:
    tree = PoseidonTree(depth)
    for index, value in leaves:
        tree.set(index, value)
    return tree


def settlement_index(asset: int, expiry: int) -> int:
    if expiry % DAY != 8 * 3600:
        raise ValueError(f"an option expiry is at 08:00 UTC, got {expiry}")
    return asset << 32 | expiry // DAY


@dataclass
class ZkState:
    """The ZK layout of a whole state: its trees, and what a circuit's witness needs."""

    accounts: PoseidonTree
    owners: PoseidonTree
    subtrees: dict[int, tuple[int, int]]  # account index -> (positions root, slots root)
    components: list[int]  # the eight the state root hashes

    def root(self) -> int:
        return poseidon(self.components)


def zk_state(items: Iterable[tuple[LeafKey, Leaf]]) -> ZkState:
    """The ZK layout of the leaves ``items`` (``State.items()``)."""
    accounts: dict[int, Account] = {}
    positions: dict[int, dict[int, Position]] = {}
    slots: dict[int, list[tuple[int, int]]] = {}
    instruments: list[tuple[int, int]] = []
    prices: dict[int, AssetPrice] = {}
    queues: dict[int, ExpiryQueue] = {}
    settlements: list[tuple[int, int]] = []
    owners: list[tuple[int, int]] = []
    withdrawals: list[tuple[int, int]] = []
    singles: dict[str, int] = {}
    for key, leaf in items:
        kind = key[0]
        if kind == "acct" and isinstance(leaf, Account):
            accounts[_int(key[1])] = leaf
        elif kind == "pos" and isinstance(leaf, Position):
            positions.setdefault(_int(key[1]), {})[_int(key[2])] = leaf
        elif kind == "slot" and isinstance(leaf, OrderSlot):
            slots.setdefault(_int(key[1]), []).append((_int(key[2]), leaf_hash(leaf)))
        elif kind == "inst" and isinstance(leaf, Instrument):
            instruments.append((_int(key[1]), leaf_hash(leaf)))
        elif kind == "price" and isinstance(leaf, AssetPrice):
            prices[_int(key[1])] = leaf
        elif kind == "expiries" and isinstance(leaf, ExpiryQueue):
            queues[_int(key[1])] = leaf
        elif kind == "settle" and isinstance(leaf, Settlement):
            settlements.append((settlement_index(_int(key[1]), _int(key[2])), leaf_hash(leaf)))
        elif kind == "owner" and isinstance(leaf, OwnerIndex):
            owner = key[1]
            if not isinstance(owner, bytes) or len(owner) != 20:
                raise ValueError(f"an owner key is a 20-byte address, got {owner!r}")
            owners.append((int.from_bytes(owner, "big"), leaf_hash(leaf)))
        elif kind == "wd" and isinstance(leaf, Withdrawal):
            withdrawals.append((_int(key[1]), leaf_hash(leaf)))
        elif kind in ("global", "oracle"):
            singles[kind] = leaf_hash(leaf)
        else:
            raise ValueError(f"no ZK place for leaf {key!r} ({type(leaf).__name__})")
    account_leaves = []
    subtrees: dict[int, tuple[int, int]] = {}
    for index, account in accounts.items():
        held = positions.pop(index, {})
        if set(held) != set(account.instruments):
            raise ValueError(f"account {index}'s positions are not its instrument list")
        by_place = [
            (place, leaf_hash(held[instrument], instrument))
            for place, instrument in enumerate(account.instruments)
        ]
        position_root = _tree(POSITION_DEPTH, by_place).root()
        slot_root = _tree(SLOT_DEPTH, slots.pop(index, [])).root()
        subtrees[index] = (position_root, slot_root)
        account_leaves.append((index, account_hash(account, position_root, slot_root)))
    if positions or slots:
        raise ValueError("positions or order slots of no account")
    assets = [
        (asset, hash_elements([_opt(prices.get(asset)), _opt(queues.get(asset))]))
        for asset in sorted(set(prices) | set(queues))
    ]
    tree = _tree(ACCOUNT_DEPTH, account_leaves)
    owner_tree = _tree(OWNER_DEPTH, owners)
    components = [
        tree.root(),
        _tree(INSTRUMENT_DEPTH, instruments).root(),
        _tree(ASSET_DEPTH, assets).root(),
        _tree(SETTLEMENT_DEPTH, settlements).root(),
        owner_tree.root(),
        _tree(WITHDRAWAL_DEPTH, withdrawals).root(),
        singles.get("global", 0),
        singles.get("oracle", 0),
    ]
    return ZkState(tree, owner_tree, subtrees, components)


def zk_root(items: Iterable[tuple[LeafKey, Leaf]]) -> int:
    """ZK mode's state root of the leaves ``items`` (``State.items()``)."""
    return zk_state(items).root()


def _opt(leaf: AssetPrice | ExpiryQueue | None) -> int:
    return 0 if leaf is None else leaf_hash(leaf)


def _int(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"a key part is an integer, got {value!r}")
    return value
