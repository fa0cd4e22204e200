"""The journaled state: a map of leaves with begin / commit / rollback.

As in execution-specs' ``state.py``, a tx runs between :meth:`State.begin` and
:meth:`State.commit`; if it is rejected, :meth:`State.rollback` restores every leaf it
wrote, so an invalid tx changes nothing.

Step tracing (docs/design/consensus.md section 11): a tx is a sequence of steps, each
declaring the leaves it may touch. With a :class:`StepTracer` attached, every read and
write is checked against the current step's declaration, and the trace records which
leaves each step used — the raw material of #4's witnesses and #7's one-step proofs.
Without a tracer (the fast path) the checks cost one attribute test.

Commitment (#4): every write also marks its key dirty. :meth:`State.root` hashes the
dirty leaves into a sparse Merkle tree (:mod:`rollbook.commitment.smt`) at path
``keccak(encode_key(key))`` with value ``keccak(encode_leaf(leaf))``, so a block
rehashes only what it wrote. Withdrawal leaves (``("wd", id)``) are also kept in a
second tree, the withdrawals tree, whose root goes into the output root so L1 can
prove a withdrawal with a short proof.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

from rollbook.commitment.proofs import Proof
from rollbook.commitment.smt import SparseMerkleTree
from rollbook.crypto.keccak import keccak256
from rollbook.exchange.errors import InvariantError, UnknownAccount, UnknownInstrument
from rollbook.exchange.leaves import (
    GLOBALS_KEY,
    ORACLE_KEY,
    Account,
    AssetPrice,
    Globals,
    Instrument,
    Leaf,
    LeafKey,
    OracleConfig,
    OrderSlot,
    Position,
    Withdrawal,
    account_key,
    encode_key,
    encode_leaf,
    instrument_key,
    position_key,
    price_key,
    slot_key,
    withdrawal_key,
)

_MISSING = object()
_EMPTY_POSITION = Position()
_EMPTY_SLOT = OrderSlot()


@dataclass(slots=True)
class Step:
    """One executed step: its name, the leaves it declared and those it touched."""

    name: str
    declared: tuple[LeafKey, ...]
    touched: list[LeafKey] = field(default_factory=list)
    carry: tuple[int, ...] = ()
    aux: bytes = b""


@dataclass(slots=True)
class StepTracer:
    """Records steps and refuses any access to an undeclared leaf.

    :meth:`start` opens a step and :meth:`end` is called when the tx commits or,
    before its writes are undone, rolls back; a subclass (the witness recorder of
    :mod:`rollbook.commitment.witness`) hooks them to record roots and proofs.
    """

    steps: list[Step] = field(default_factory=list)

    def start(
        self,
        state: State,
        name: str,
        declared: tuple[LeafKey, ...],
        carry: tuple[int, ...],
        aux: bytes = b"",
    ) -> None:
        self.steps.append(Step(name, declared, carry=carry, aux=aux))

    def set_aux(self, aux: bytes) -> None:
        """Set the open step's aux witness."""
        if not self.steps:
            raise InvariantError("an aux witness outside any step")
        self.steps[-1].aux = aux

    def end(self, state: State, reverted: bool) -> None:
        """The tx is about to commit (``reverted`` False) or roll back."""

    def check(self, key: LeafKey) -> None:
        if not self.steps:
            raise InvariantError(f"leaf {key!r} accessed outside any step")
        step = self.steps[-1]
        if key not in step.declared:
            raise InvariantError(f"step {step.name} touched undeclared leaf {key!r}")
        if key not in step.touched:
            step.touched.append(key)


WITHDRAWAL_KIND = "wd"


def leaf_path(key: LeafKey) -> bytes:
    """Where a leaf sits in the state tree: ``keccak(encode_key(key))``."""
    return keccak256(encode_key(key))


def leaf_value(leaf: Leaf) -> bytes:
    """The value hash of a leaf: ``keccak(encode_leaf(leaf))``."""
    return keccak256(encode_leaf(leaf))


class State:
    """The exchange state: leaves, a journal, a step tracer, and the state tree."""

    __slots__ = ("_dirty", "_leaves", "_paths", "_tree", "_undo", "_withdrawals", "tracer")

    def __init__(self, leaves: dict[LeafKey, Leaf] | None = None) -> None:
        self._leaves: dict[LeafKey, Leaf] = dict(leaves) if leaves else {}
        self._undo: dict[LeafKey, object] | None = None
        self.tracer: StepTracer | None = None
        if GLOBALS_KEY not in self._leaves:
            self._leaves[GLOBALS_KEY] = Globals()
        if ORACLE_KEY not in self._leaves:
            self._leaves[ORACLE_KEY] = OracleConfig()
        self._tree = SparseMerkleTree()
        self._withdrawals = SparseMerkleTree()
        self._paths: dict[LeafKey, bytes] = {}
        self._dirty: dict[LeafKey, None] = dict.fromkeys(self._leaves)

    # -- journal -------------------------------------------------------------------

    def begin(self) -> None:
        """Open a tx: from now on every write is journaled."""
        if self._undo is not None:
            raise InvariantError("nested begin(): a tx is already open")
        self._undo = {}

    def commit(self) -> None:
        """Keep the open tx's writes."""
        if self._undo is None:
            raise InvariantError("commit() without begin()")
        if self.tracer is not None:
            self.tracer.end(self, reverted=False)
        self._undo = None

    def rollback(self) -> None:
        """Undo every write of the open tx."""
        if self._undo is None:
            raise InvariantError("rollback() without begin()")
        if self.tracer is not None:
            self.tracer.end(self, reverted=True)
        for key, old in self._undo.items():
            self._dirty[key] = None
            if old is _MISSING:
                self._leaves.pop(key, None)
            else:
                self._leaves[key] = cast(Leaf, old)
        self._undo = None

    def step(
        self, name: str, *declared: LeafKey, carry: tuple[int, ...] = (), aux: bytes = b""
    ) -> None:
        """Start a step that may touch exactly ``declared`` (checked when tracing).

        ``carry`` lists the values the step takes from the steps before it (an account
        index, a withdrawal id, running sums): between steps they live in the step
        context (docs/design/fraud-proofs.md section 2), so a step can be executed
        alone from its context and its leaves. ``aux`` is a witness too large for the
        carried words (a portfolio check's scenario lanes): a carried word holds its
        hash, and the step's witness holds the bytes.
        """
        if self.tracer is not None:
            self.tracer.start(self, name, declared, carry, aux)

    def step_aux(self, aux: bytes) -> None:
        """Set the current step's aux witness (when it is known only once the step
        has read its leaves: a portfolio check's lanes of the position's asset)."""
        if self.tracer is not None:
            self.tracer.set_aux(aux)

    @property
    def tracing(self) -> bool:
        """Whether steps are being recorded (a carry only a trace reads may be skipped
        otherwise)."""
        return self.tracer is not None

    # -- raw access ----------------------------------------------------------------

    def get(self, key: LeafKey) -> Leaf | None:
        if self.tracer is not None:
            self.tracer.check(key)
        return self._leaves.get(key)

    def put(self, key: LeafKey, leaf: Leaf) -> None:
        if self.tracer is not None:
            self.tracer.check(key)
        undo = self._undo
        if undo is not None and key not in undo:
            undo[key] = self._leaves.get(key, _MISSING)
        self._leaves[key] = leaf
        self._dirty[key] = None

    def delete(self, key: LeafKey) -> None:
        if self.tracer is not None:
            self.tracer.check(key)
        undo = self._undo
        if undo is not None and key not in undo:
            undo[key] = self._leaves.get(key, _MISSING)
        self._leaves.pop(key, None)
        self._dirty[key] = None

    # -- typed access --------------------------------------------------------------

    def globals(self) -> Globals:
        return cast(Globals, self.get(GLOBALS_KEY))

    def oracle(self) -> OracleConfig:
        return cast(OracleConfig, self.get(ORACLE_KEY))

    def account(self, index: int) -> Account:
        """The account at ``index``; raises :class:`UnknownAccount` if none."""
        leaf = self.get(account_key(index))
        if leaf is None:
            raise UnknownAccount(f"account {index} does not exist")
        return cast(Account, leaf)

    def has_account(self, index: int) -> bool:
        return self.get(account_key(index)) is not None

    def position(self, index: int, instrument: int) -> Position:
        """The account's position in ``instrument`` (an empty one if none)."""
        leaf = self.get(position_key(index, instrument))
        return _EMPTY_POSITION if leaf is None else cast(Position, leaf)

    def withdrawal(self, withdrawal_id: int) -> Withdrawal:
        """The withdrawal leaf ``withdrawal_id``; raises :class:`LookupError` if none."""
        leaf = self.get(withdrawal_key(withdrawal_id))
        if not isinstance(leaf, Withdrawal):
            raise LookupError(f"withdrawal {withdrawal_id} does not exist")
        return leaf

    def slot(self, index: int, slot: int) -> OrderSlot:
        leaf = self.get(slot_key(index, slot))
        return _EMPTY_SLOT if leaf is None else cast(OrderSlot, leaf)

    def instrument(self, instrument: int) -> Instrument:
        """The listed instrument; raises :class:`UnknownInstrument` if not listed."""
        leaf = self.get(instrument_key(instrument))
        if leaf is None:
            raise UnknownInstrument(f"instrument {instrument} is not listed")
        return cast(Instrument, leaf)

    def price(self, asset: int) -> AssetPrice | None:
        return cast(AssetPrice | None, self.get(price_key(asset)))

    # -- views ---------------------------------------------------------------------

    def items(self) -> list[tuple[LeafKey, Leaf]]:
        """All leaves, in canonical key order (for roots, snapshots and tests)."""
        pairs = [(encode_key(k), k, v) for k, v in self._leaves.items()]
        pairs.sort(key=lambda t: t[0])
        return [(k, v) for _, k, v in pairs]

    # -- commitment ----------------------------------------------------------------

    def _flush(self) -> None:
        """Hash the dirty leaves into the trees (only what changed since the last root)."""
        if not self._dirty:
            return
        paths = self._paths
        leaves = self._leaves
        writes: list[tuple[bytes, bytes | None]] = []
        withdrawals: list[tuple[bytes, bytes | None]] = []
        for key in self._dirty:
            path = paths.get(key)
            if path is None:
                path = paths[key] = leaf_path(key)
            leaf = leaves.get(key)
            write = (path, None if leaf is None else leaf_value(leaf))
            writes.append(write)
            if key[0] == WITHDRAWAL_KIND:
                withdrawals.append(write)
        self._dirty = {}
        self._tree.update(writes)
        if withdrawals:
            self._withdrawals.update(withdrawals)

    @property
    def dirty_count(self) -> int:
        """How many leaves changed since the last root (a node hashes them early, while
        a block fills, so that sealing it does not stall)."""
        return len(self._dirty)

    def root(self) -> bytes:
        """The state root: the sparse Merkle tree over every leaf (#4).

        Inside an open tx it is the root of the tx's writes so far (the step
        witnesses need it); a rollback marks the restored leaves dirty again.
        """
        self._flush()
        return self._tree.root()

    def withdrawals_root(self) -> bytes:
        """The root of the withdrawals tree (the ``("wd", id)`` leaves only)."""
        self._flush()
        return self._withdrawals.root()

    def tree(self) -> SparseMerkleTree:
        """A copy of the state tree at :meth:`root` (cheap: nodes are shared)."""
        self.root()
        return self._tree.copy()

    def withdrawals_tree(self) -> SparseMerkleTree:
        """A copy of the withdrawals tree at :meth:`withdrawals_root`."""
        self.withdrawals_root()
        return self._withdrawals.copy()

    def peek(self, key: LeafKey) -> Leaf | None:
        """The leaf at ``key``, bypassing the step tracer (for witness recording)."""
        return self._leaves.get(key)

    def journal(self) -> dict[LeafKey, Leaf | None]:
        """The open tx's pre-values of every key it wrote (None: absent before)."""
        if self._undo is None:
            return {}
        return {k: None if v is _MISSING else cast(Leaf, v) for k, v in self._undo.items()}

    def prove(self, key: LeafKey) -> tuple[Leaf | None, Proof]:
        """The leaf at ``key`` (or None) and its proof against :meth:`root`."""
        self.root()
        return self._leaves.get(key), self._tree.prove(leaf_path(key))

    def prove_withdrawal(self, key: LeafKey) -> tuple[Leaf | None, Proof]:
        """A withdrawal leaf and its proof against :meth:`withdrawals_root`."""
        self.withdrawals_root()
        return self._leaves.get(key), self._withdrawals.prove(leaf_path(key))

    def copy(self) -> State:
        """An independent copy (no journal, no tracer); the trees are shared, not rebuilt."""
        if self._undo is not None:
            raise InvariantError("copy() inside an open tx")
        other = State.__new__(State)
        other._leaves = dict(self._leaves)
        other._undo = None
        other.tracer = None
        other._tree = self._tree.copy()
        other._withdrawals = self._withdrawals.copy()
        other._paths = self._paths
        other._dirty = dict(self._dirty)
        return other

    def restore(self, other: State) -> None:
        """Make this state equal to ``other`` (a copy taken earlier), in place."""
        if self._undo is not None:
            raise InvariantError("restore() inside an open tx")
        self._leaves = dict(other._leaves)
        self._tree = other._tree.copy()
        self._withdrawals = other._withdrawals.copy()
        self._dirty = dict(other._dirty)

    def keys_of_kind(self, kind: str) -> list[LeafKey]:
        """Keys of one leaf kind in insertion order (tests and reporting only)."""
        return [k for k in self._leaves if k[0] == kind]
