"""Step witnesses: what a verifier needs to re-check one step of one tx.

A tx runs as a sequence of steps (docs/design/consensus.md section 11), each reading
and writing a declared set of leaves. Between steps the execution state is
``(state root, context hash)``. A step's witness holds:

- ``pre_root`` / ``post_root``: the state root before and after the step;
- ``pre_context`` / ``post_context``: the context hash before and after;
- ``reads``: every leaf the step touched, with its value before the step and a proof
  against ``pre_root`` (inclusion, or exclusion for an absent leaf);
- ``writes``: the leaves the step changed, in key order, each with its old and new
  value and a proof against the *running* root — the root after the writes before
  it — so each write is one :func:`~rollbook.commitment.proofs.root_after_update`
  and the last gives ``post_root``. That loop is what the one-step executor (#7) runs
  on-chain; :func:`verify_step` is its Python form.

A tx that is rejected mid-way gets one more step, ``revert``, whose writes restore
every leaf the tx wrote, so its ``post_root`` is the tx's pre-state root: the
rejection is provable, not just asserted.

The context hash binds a step to its tx, the tx's place in its block, the block's
time, and the step's position::

    keccak("rollbook.context" | tx_hash | u32 tx index | u64 timestamp
           | u32 step index | tx pre-root | u8 failed)

where the step index counts the steps done so far and ``failed`` is 1 once a step
has failed. (The tx hash covers the tx's origin and L1 sender.) The accumulators a
multi-step check carries (equity, IM and MM summed one position per step) join the
context when #7 fixes each step's on-chain semantics; until then the Python STF keeps
them in locals, and the witness records the state-root side of every step exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rollbook.commitment.proofs import (
    Proof,
    root_after_update,
    verify_exclusion,
    verify_inclusion,
)
from rollbook.commitment.smt import SparseMerkleTree
from rollbook.crypto.keccak import keccak256
from rollbook.exchange.env import TxEnv
from rollbook.exchange.errors import InvariantError
from rollbook.exchange.leaves import Leaf, LeafKey
from rollbook.exchange.state import State, StepTracer, leaf_path, leaf_value
from rollbook.exchange.stf import Receipt, apply_tx
from rollbook.exchange.txs import Tx

CONTEXT_TAG = b"rollbook.context"


@dataclass(frozen=True, slots=True)
class TxPlace:
    """Where a tx runs: its hash, its index in the block, and the block's timestamp."""

    tx_hash: bytes
    tx_index: int = 0
    timestamp: int = 0

    def context(self, step_index: int, tx_pre_root: bytes, failed: bool) -> bytes:
        """The context hash after ``step_index`` steps of the tx (module docstring)."""
        return keccak256(
            CONTEXT_TAG
            + self.tx_hash
            + self.tx_index.to_bytes(4, "big")
            + self.timestamp.to_bytes(8, "big")
            + step_index.to_bytes(4, "big")
            + tx_pre_root
            + bytes([failed])
        )


def value_of(leaf: Leaf | None) -> bytes | None:
    return None if leaf is None else leaf_value(leaf)


@dataclass(frozen=True, slots=True)
class LeafRead:
    key: LeafKey
    leaf: Leaf | None
    proof: Proof


@dataclass(frozen=True, slots=True)
class LeafWrite:
    key: LeafKey
    old: Leaf | None
    new: Leaf | None
    proof: Proof


@dataclass(frozen=True, slots=True)
class StepWitness:
    """One step's witness (module docstring)."""

    index: int
    name: str
    declared: tuple[LeafKey, ...]
    pre_root: bytes
    post_root: bytes
    pre_context: bytes
    post_context: bytes
    reads: tuple[LeafRead, ...]
    writes: tuple[LeafWrite, ...]


class WitnessError(Exception):
    """A witness does not verify (a wrong proof, value or root)."""


def verify_step(witness: StepWitness) -> bytes:
    """Check every read against ``pre_root``, apply the writes, and return the root.

    The caller compares the result with ``witness.post_root`` (a dispute compares it
    with the claimed one). Raises :class:`WitnessError` on any proof that fails or any
    leaf outside the step's declaration. (Whether the writes are what the step's rule
    computes from the reads is the one-step executor's part, #7.)
    """
    declared = set(witness.declared)
    keys = [read.key for read in witness.reads] + [write.key for write in witness.writes]
    for key in keys:
        if key not in declared:
            raise WitnessError(f"step {witness.name}: {key!r} is not declared")
    for read in witness.reads:
        path = leaf_path(read.key)
        value = value_of(read.leaf)
        ok = (
            verify_exclusion(witness.pre_root, path, read.proof)
            if value is None
            else verify_inclusion(witness.pre_root, path, value, read.proof)
        )
        if not ok:
            raise WitnessError(f"step {witness.name}: read of {read.key!r} does not verify")
    reads = {read.key: read.leaf for read in witness.reads}
    root = witness.pre_root
    for write in witness.writes:
        if write.key not in reads or reads[write.key] != write.old:
            raise WitnessError(f"step {witness.name}: write of {write.key!r} was not read as old")
        try:
            root = root_after_update(
                root, leaf_path(write.key), value_of(write.old), value_of(write.new), write.proof
            )
        except Exception as exc:  # ProofError and malformed-input errors alike
            raise WitnessError(f"step {witness.name}: write of {write.key!r}: {exc}") from exc
    return root


@dataclass(slots=True)
class _Open:
    """The step being recorded: its name, declaration, and the tree before it."""

    name: str
    declared: tuple[LeafKey, ...]
    tree: SparseMerkleTree
    pre_root: bytes
    pre_values: dict[LeafKey, Leaf | None] = field(default_factory=dict)


class WitnessTracer(StepTracer):
    """A step tracer that records a :class:`StepWitness` for every step of one tx."""

    def __init__(self, place: TxPlace) -> None:
        StepTracer.__init__(self)
        self.place = place
        self.witnesses: list[StepWitness] = []
        self.tx_pre_root = b""
        self._open: _Open | None = None
        self._failed = False
        self._state: State | None = None

    def check(self, key: LeafKey) -> None:
        StepTracer.check(self, key)
        current = self._open
        if current is not None and self._state is not None and key not in current.pre_values:
            current.pre_values[key] = self._state.peek(key)

    def start(self, state: State, name: str, declared: tuple[LeafKey, ...]) -> None:
        self._state = state
        if self._open is None and not self.witnesses:
            self.tx_pre_root = state.root()
        self._close(state)
        StepTracer.start(self, state, name, declared)
        tree = state.tree()
        self._open = _Open(name, declared, tree, tree.root())

    def end(self, state: State, reverted: bool) -> None:
        self._failed = reverted
        self._close(state)
        if reverted:
            self._revert(state)

    def _close(self, state: State) -> None:
        current = self._open
        if current is None:
            return
        self._open = None
        changes = {
            key: state.peek(key)
            for key in current.pre_values
            if state.peek(key) != current.pre_values[key]
        }
        self._record(current, changes, state.root(), failed_before=False)

    def _record(
        self,
        current: _Open,
        changes: dict[LeafKey, Leaf | None],
        post_root: bytes,
        failed_before: bool,
    ) -> None:
        tree = current.tree
        reads = tuple(
            LeafRead(key, leaf, tree.prove(leaf_path(key)))
            for key, leaf in current.pre_values.items()
        )
        writes = []
        for key in sorted(changes, key=leaf_path):
            path = leaf_path(key)
            writes.append(LeafWrite(key, current.pre_values[key], changes[key], tree.prove(path)))
            tree.update([(path, value_of(changes[key]))])
        if tree.root() != post_root:
            raise InvariantError(f"step {current.name}: the witness writes miss the state root")
        index = len(self.witnesses)
        self.witnesses.append(
            StepWitness(
                index,
                current.name,
                current.declared,
                current.pre_root,
                post_root,
                self.place.context(index, self.tx_pre_root, failed_before),
                self.place.context(index + 1, self.tx_pre_root, self._failed),
                reads,
                tuple(writes),
            )
        )

    def _revert(self, state: State) -> None:
        """The extra step of a rejected tx: restore every leaf it wrote."""
        journal = state.journal()
        if not journal:
            return
        tree = state.tree()
        current = _Open("revert", tuple(journal), tree, tree.root())
        current.pre_values = {key: state.peek(key) for key in journal}
        changes = {k: v for k, v in journal.items() if current.pre_values[k] != v}
        if not changes:
            return
        self._record(current, changes, self.tx_pre_root, failed_before=True)


def witness_tx(
    state: State, tx: Tx, env: TxEnv, tx_hash: bytes, tx_index: int = 0
) -> tuple[Receipt, list[StepWitness]]:
    """Apply ``tx`` (the ``tx_index``-th of its block) to ``state`` and return its
    receipt with a witness per step."""
    tracer = WitnessTracer(TxPlace(tx_hash, tx_index, env.timestamp))
    previous = state.tracer
    state.tracer = tracer
    try:
        receipt = apply_tx(state, tx, env)
    finally:
        state.tracer = previous
    return receipt, tracer.witnesses
