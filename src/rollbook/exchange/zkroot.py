"""ZK mode's state root: the same leaves, in Poseidon trees a circuit can afford (#8).

The optimistic root commits to every leaf in one compact keccak tree keyed by 256-bit
paths. A circuit pays ~250 constraints per level per leaf it opens, so ZK mode commits
to the same state in a denser layout (docs/design/zk.md, "The state tree"):

- **accounts** by index (depth 32): an account's leaf hashes its fields (the
  instrument list by its length only: :func:`account_hash`) and the hash of its
  **positions** in the list's order (:func:`positions_hash`). A fill's margin check
  reads every position of both accounts, so one chained hash over them (Poseidon
  over eleven values a call) costs a circuit a third of what a tree of position
  leaves would; nothing reads one position alone but the escape hatch, which is rare.
- **orders**: every account's order slots in one tree by ``account << 16 | slot``
  (depth 48). They are kept out of the account's leaf (StarkEx keeps its orders tree
  beside its vaults the same way) because a ZK batch does not publish the orders it
  fills: a user who leaves by the escape hatch rebuilds accounts from the published
  fills and needs the orders tree's root only, which every batch publishes.
- **instruments** by id (depth 16); **assets** by id (depth 16: the index price and the
  expiry queue); **settlements** by asset and expiry day (depth 48); **owners** by
  address (depth 160: which account an owner has, so a deposit proves an owner new);
  **withdrawals** by id (depth 32);
- the globals and the oracle set, each one hash.

``state_root = Poseidon(accounts, orders, instruments, assets, settlements, owners,
withdrawals, globals, oracle)``.

A leaf's fields become field elements (:func:`elements`): an int ``v`` is
``v mod P`` (the state's integers are far below ``P / 2`` in size, so this is
injective), a bool 0 or 1, bytes and text their length and then 31-byte big-endian
chunks, a tuple its length and then its items. A leaf of a fixed shape helps a
circuit, so in a leaf's hash a field of varying length (text, a tuple) counts as one
element, the hash of its elements (:func:`leaf_values`); an account's four keys
are the exception, a tuple of fixed shape that the circuit reads.
:func:`hash_elements` chains
Poseidon over them, eleven at a time after the running hash (the first call takes the
count). Every leaf hash starts with the leaf's tag, so two kinds never collide.

:class:`ZkCommitment` keeps the trees up to date from the leaves each tx or block
writes; :func:`zk_state` builds it from a whole state and :func:`zk_root` gives its
root.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar

from rollbook.commitment.poseidon_tree import PoseidonTree
from rollbook.crypto.poseidon import P, poseidon
from rollbook.exchange.leaves import (
    LEAF_TAGS,
    Account,
    AssetPrice,
    ExpiryQueue,
    Globals,
    Instrument,
    Leaf,
    LeafKey,
    OracleConfig,
    OrderSlot,
    OwnerIndex,
    Position,
    Settlement,
    Withdrawal,
)

ACCOUNT_DEPTH = 32
POSITION_VALUES = 5  # instrument id, size, cost, funding snapshot, loss snapshot
SLOT_DEPTH = 16
ORDER_DEPTH = ACCOUNT_DEPTH + SLOT_DEPTH
INSTRUMENT_DEPTH = 16
ASSET_DEPTH = 16
SETTLEMENT_DEPTH = 48  # asset (16 bits) then the expiry's day (32 bits)
OWNER_DEPTH = 160
WITHDRAWAL_DEPTH = 32
DAY = 86_400
CHUNK = 31  # bytes per field element of a byte string
RATE = 11  # elements per Poseidon call after the running hash
T = TypeVar("T")


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
    """What a leaf's hash takes: its tag, its fields' elements (a text or a tuple as
    the hash of its elements, so a kind of leaf always has one shape), then
    ``extra``."""
    values = [LEAF_TAGS[type(leaf)]]
    for field in leaf:
        if isinstance(field, str | tuple):
            values.append(hash_elements(elements(field)))
        else:
            values += elements(field)
    return [*values, *extra]


def leaf_hash(leaf: Leaf, *extra: int) -> int:
    """A leaf's hash: its tag, its fields' elements, then ``extra`` (subtree roots)."""
    return hash_elements(leaf_values(leaf, *extra))


ACCOUNT_VALUES = 18


def positions_hash(held: Sequence[tuple[int, Position]]) -> int:
    """The hash of an account's positions, ``(instrument id, position)`` in the list's
    order: their values (:data:`POSITION_VALUES` each) in chunks of eleven, the last
    padded with zeros; ``h = Poseidon(n, chunk 0)``, then ``h = Poseidon(h, chunk k)``.
    A fixed width per call lets a circuit built for N positions hash any n <= N."""
    values: list[int] = []
    for instrument, position in held:
        values += [instrument, *(v % P for v in position)]
    values += [0] * (-len(values) % RATE if values else RATE)
    running = poseidon([len(held), *values[:RATE]])
    for at in range(RATE, len(values), RATE):
        running = poseidon([running, *values[at : at + RATE]])
    return running


def account_values(account: Account, position_root: int) -> list[int]:
    """An account's leaf: its fields with the instrument list replaced by its length
    (the positions' hash holds each instrument id in its place), then the positions'
    hash. Every account hashes the same number of elements (:data:`ACCOUNT_VALUES`),
    so a circuit hashes it with a fixed shape."""
    values = [LEAF_TAGS[Account]]
    for name, field in zip(Account._fields, account, strict=True):
        values += [len(account.instruments)] if name == "instruments" else elements(field)
    return [*values, position_root]


def account_hash(account: Account, position_root: int) -> int:
    return hash_elements(account_values(account, position_root))


def order_index(account: int, slot: int) -> int:
    """An order slot's place in the orders tree."""
    return account << SLOT_DEPTH | slot


def settlement_index(asset: int, expiry: int) -> int:
    if expiry % DAY != 8 * 3600:
        raise ValueError(f"an option expiry is at 08:00 UTC, got {expiry}")
    return asset << 32 | expiry // DAY


class ZkCommitment:
    """ZK mode's trees over a state, kept up to date leaf change by leaf change.

    :meth:`apply` takes the leaves a tx or a block wrote (``None``: deleted); built
    from nothing with a whole state's leaves it is :func:`zk_state`. An account is
    rehashed once per call however many of its leaves changed, its positions' hash
    taken again over the whole list (the list's order may have shifted).
    """

    def __init__(self) -> None:
        self.accounts = PoseidonTree(ACCOUNT_DEPTH)
        self.orders = PoseidonTree(ORDER_DEPTH)
        self.instruments = PoseidonTree(INSTRUMENT_DEPTH)
        self.assets = PoseidonTree(ASSET_DEPTH)
        self.settlements = PoseidonTree(SETTLEMENT_DEPTH)
        self.owners = PoseidonTree(OWNER_DEPTH)
        self.withdrawals = PoseidonTree(WITHDRAWAL_DEPTH)
        self.globals_hash = 0
        self.oracle_hash = 0
        self.position_roots: dict[int, int] = {}
        self._accounts: dict[int, Account] = {}
        self._positions: dict[int, dict[int, Position]] = {}
        self._prices: dict[int, AssetPrice] = {}
        self._queues: dict[int, ExpiryQueue] = {}

    @property
    def components(self) -> list[int]:
        """The nine the state root hashes."""
        return [
            self.accounts.root(),
            self.orders.root(),
            self.instruments.root(),
            self.assets.root(),
            self.settlements.root(),
            self.owners.root(),
            self.withdrawals.root(),
            self.globals_hash,
            self.oracle_hash,
        ]

    def root(self) -> int:
        return poseidon(self.components)

    def apply(self, changes: Iterable[tuple[LeafKey, Leaf | None]]) -> None:
        """Take the written leaves ``changes`` (a key once; ``None`` deletes it)."""
        touched: dict[int, None] = {}  # accounts to rehash, in first-touch order
        assets: dict[int, None] = {}
        for key, leaf in changes:
            kind = key[0]
            if kind == "acct":
                index = _int(key[1])
                _store(self._accounts, index, _typed(key, leaf, Account))
                touched[index] = None
            elif kind == "pos":
                index = _int(key[1])
                held = self._positions.setdefault(index, {})
                _store(held, _int(key[2]), _typed(key, leaf, Position))
                touched[index] = None
            elif kind == "slot":
                at = order_index(_int(key[1]), _int(key[2]))
                self.orders.set(at, _hash_or_zero(_typed(key, leaf, OrderSlot)))
            elif kind == "inst":
                self.instruments.set(_int(key[1]), _hash_or_zero(_typed(key, leaf, Instrument)))
            elif kind == "price":
                _store(self._prices, _int(key[1]), _typed(key, leaf, AssetPrice))
                assets[_int(key[1])] = None
            elif kind == "expiries":
                _store(self._queues, _int(key[1]), _typed(key, leaf, ExpiryQueue))
                assets[_int(key[1])] = None
            elif kind == "settle":
                at = settlement_index(_int(key[1]), _int(key[2]))
                self.settlements.set(at, _hash_or_zero(_typed(key, leaf, Settlement)))
            elif kind == "owner":
                owner = key[1]
                if not isinstance(owner, bytes) or len(owner) != 20:
                    raise ValueError(f"an owner key is a 20-byte address, got {owner!r}")
                value = _hash_or_zero(_typed(key, leaf, OwnerIndex))
                self.owners.set(int.from_bytes(owner, "big"), value)
            elif kind == "wd":
                self.withdrawals.set(_int(key[1]), _hash_or_zero(_typed(key, leaf, Withdrawal)))
            elif kind == "global":
                self.globals_hash = _hash_or_zero(_typed(key, leaf, Globals))
            elif kind == "oracle":
                self.oracle_hash = _hash_or_zero(_typed(key, leaf, OracleConfig))
            else:
                raise ValueError(f"no ZK place for leaf {key!r}")
        for index in touched:
            self._rehash(index)
        for asset in assets:
            price, queue = self._prices.get(asset), self._queues.get(asset)
            both = (
                0 if price is None and queue is None else hash_elements([_opt(price), _opt(queue)])
            )
            self.assets.set(asset, both)

    def _rehash(self, index: int) -> None:
        account = self._accounts.get(index)
        held = self._positions.get(index, {})
        if account is None:
            if held:
                raise ValueError(f"positions of no account ({index})")
            self.accounts.set(index, 0)
            self.position_roots.pop(index, None)
            return
        if set(held) != set(account.instruments):
            raise ValueError(f"account {index}'s positions are not its instrument list")
        position_root = positions_hash([(i, held[i]) for i in account.instruments])
        self.position_roots[index] = position_root
        self.accounts.set(index, account_hash(account, position_root))


def zk_state(items: Iterable[tuple[LeafKey, Leaf]]) -> ZkCommitment:
    """The ZK layout of the leaves ``items`` (``State.items()``), built from nothing."""
    commitment = ZkCommitment()
    commitment.apply(items)
    return commitment


def zk_root(items: Iterable[tuple[LeafKey, Leaf]]) -> int:
    """ZK mode's state root of the leaves ``items`` (``State.items()``)."""
    return zk_state(items).root()


def _opt(leaf: AssetPrice | ExpiryQueue | None) -> int:
    return 0 if leaf is None else leaf_hash(leaf)


def _hash_or_zero(leaf: Leaf | None) -> int:
    return 0 if leaf is None else leaf_hash(leaf)


def _typed(key: LeafKey, leaf: Leaf | None, expected: type[T]) -> T | None:
    if leaf is not None and not isinstance(leaf, expected):
        raise ValueError(f"leaf {key!r} is a {type(leaf).__name__}, not a {expected.__name__}")
    return leaf


def _store(table: dict[int, T], at: int, leaf: T | None) -> None:
    if leaf is None:
        table.pop(at, None)
    else:
        table[at] = leaf


def _int(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"a key part is an integer, got {value!r}")
    return value
