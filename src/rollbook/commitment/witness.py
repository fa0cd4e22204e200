"""Step witnesses: what a verifier needs to re-check one step of one tx.

A tx runs as a sequence of steps (docs/design/consensus.md section 11), each reading
and writing a declared set of leaves. A step's witness holds:

- ``pre_root`` / ``post_root`` and ``pre_withdrawals`` / ``post_withdrawals``: the
  state root and the withdrawals root before and after the step;
- ``carry``: the values the step took from the steps before it (the step context
  carries them; :mod:`rollbook.chain.trace` hashes them into the checkpoint);
- ``reads``: every leaf the step touched, with its value before the step and a proof
  against ``pre_root`` (inclusion, or exclusion for an absent leaf);
- ``writes``: the leaves the step changed, in path order, each with its old and new
  value and a proof against the *running* root — the root after the writes before
  it — so each write is one :func:`~rollbook.commitment.proofs.root_after_update`
  and the last gives ``post_root``; ``withdrawal_writes`` the same for the
  withdrawal leaves in the withdrawals tree. That loop is what the one-step executor
  (#7) runs on-chain; :func:`verify_step` is its Python form.
- ``aux``: what the step needs beyond its leaves and carried words when it does not
  fit in the words (a portfolio margin check's scenario lanes); a carried word
  holds its hash, so the executor checks it like a leaf.
- ``failed``: the step refused the tx. A failing step writes nothing (its
  ``post_root`` is its ``pre_root``); the tx's end step then restores the tx's
  pre-state, so a rejection is a provable outcome, not an assertion.

The step contexts (which tx, which step, the carried values, the failure) are built
around these witnesses by :mod:`rollbook.chain.trace`.
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
from rollbook.exchange.env import TxEnv
from rollbook.exchange.errors import InvariantError
from rollbook.exchange.leaves import Leaf, LeafKey
from rollbook.exchange.state import WITHDRAWAL_KIND, State, StepTracer, leaf_path, leaf_value
from rollbook.exchange.stf import Receipt, apply_tx
from rollbook.exchange.txs import Tx


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
    carry: tuple[int, ...]
    pre_root: bytes
    post_root: bytes
    pre_withdrawals: bytes
    post_withdrawals: bytes
    reads: tuple[LeafRead, ...]
    writes: tuple[LeafWrite, ...]
    withdrawal_writes: tuple[LeafWrite, ...]
    failed: bool
    aux: bytes = b""
    """A witness beyond the leaves, whose hash a carried word holds (a portfolio
    margin check's scenario lanes, :func:`rollbook.exchange.margin.lanes_aux`)."""


class WitnessError(Exception):
    """A witness does not verify (a wrong proof, value or root)."""


def _apply(root: bytes, name: str, writes: tuple[LeafWrite, ...]) -> bytes:
    for write in writes:
        try:
            root = root_after_update(
                root, leaf_path(write.key), value_of(write.old), value_of(write.new), write.proof
            )
        except Exception as exc:  # ProofError and malformed-input errors alike
            raise WitnessError(f"step {name}: write of {write.key!r}: {exc}") from exc
    return root


def verify_step(witness: StepWitness) -> tuple[bytes, bytes]:
    """Check every read against ``pre_root``, apply the writes, and return the state
    and withdrawals roots after the step.

    The caller compares them with the witness's post roots (a dispute compares them
    with the claimed ones). Raises :class:`WitnessError` on any proof that fails, any
    leaf outside the step's declaration, or a failing step that writes. (Whether the
    writes are what the step's rule computes from the reads is the one-step
    executor's part, #7.)
    """
    declared = set(witness.declared)
    keys = [read.key for read in witness.reads] + [write.key for write in witness.writes]
    for key in keys:
        if key not in declared:
            raise WitnessError(f"step {witness.name}: {key!r} is not declared")
    if witness.failed and (witness.writes or witness.withdrawal_writes):
        raise WitnessError(f"step {witness.name}: a failing step writes nothing")
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
    for write in witness.writes:
        if write.key not in reads or reads[write.key] != write.old:
            raise WitnessError(f"step {witness.name}: write of {write.key!r} was not read as old")
    wanted = [w for w in witness.writes if w.key[0] == WITHDRAWAL_KIND]
    got = witness.withdrawal_writes
    if [(w.key, w.old, w.new) for w in wanted] != [(w.key, w.old, w.new) for w in got]:
        raise WitnessError(f"step {witness.name}: the withdrawals tree misses a write")
    root = _apply(witness.pre_root, witness.name, witness.writes)
    return root, _apply(witness.pre_withdrawals, witness.name, got)


@dataclass(slots=True)
class _Open:
    """The step being recorded: its name, declaration, carry, and the trees before it."""

    name: str
    declared: tuple[LeafKey, ...]
    carry: tuple[int, ...]
    aux: bytes
    tree: SparseMerkleTree
    withdrawals: SparseMerkleTree
    pre_values: dict[LeafKey, Leaf | None] = field(default_factory=dict)


class WitnessTracer(StepTracer):
    """A step tracer that records a :class:`StepWitness` for every step of one tx."""

    def __init__(self) -> None:
        StepTracer.__init__(self)
        self.witnesses: list[StepWitness] = []
        self._open: _Open | None = None
        self._state: State | None = None

    def check(self, key: LeafKey) -> None:
        StepTracer.check(self, key)
        current = self._open
        if current is not None and self._state is not None and key not in current.pre_values:
            current.pre_values[key] = self._state.peek(key)

    def start(
        self,
        state: State,
        name: str,
        declared: tuple[LeafKey, ...],
        carry: tuple[int, ...],
        aux: bytes = b"",
    ) -> None:
        self._state = state
        self._close(state, failed=False)
        StepTracer.start(self, state, name, declared, carry, aux)
        self._open = _Open(name, declared, carry, aux, state.tree(), state.withdrawals_tree())

    def set_aux(self, aux: bytes) -> None:
        StepTracer.set_aux(self, aux)
        if self._open is not None:
            self._open.aux = aux

    def end(self, state: State, reverted: bool) -> None:
        self._close(state, failed=reverted)

    def _close(self, state: State, failed: bool) -> None:
        current = self._open
        if current is None:
            return
        self._open = None
        tree, withdrawals = current.tree, current.withdrawals
        pre_root, pre_withdrawals = tree.root(), withdrawals.root()
        reads = tuple(
            LeafRead(key, leaf, tree.prove(leaf_path(key)))
            for key, leaf in current.pre_values.items()
        )
        changes = {
            key: state.peek(key)
            for key in current.pre_values
            if not failed and state.peek(key) != current.pre_values[key]
        }
        writes: list[LeafWrite] = []
        withdrawal_writes: list[LeafWrite] = []
        for key in sorted(changes, key=leaf_path):
            path, old, new = leaf_path(key), current.pre_values[key], changes[key]
            writes.append(LeafWrite(key, old, new, tree.prove(path)))
            tree.update([(path, value_of(new))])
            if key[0] == WITHDRAWAL_KIND:
                withdrawal_writes.append(LeafWrite(key, old, new, withdrawals.prove(path)))
                withdrawals.update([(path, value_of(new))])
        if not failed and (tree.root(), withdrawals.root()) != (
            state.root(),
            state.withdrawals_root(),
        ):
            raise InvariantError(f"step {current.name}: the witness writes miss the state root")
        self.witnesses.append(
            StepWitness(
                len(self.witnesses),
                current.name,
                current.declared,
                current.carry,
                pre_root,
                tree.root(),
                pre_withdrawals,
                withdrawals.root(),
                reads,
                tuple(writes),
                tuple(withdrawal_writes),
                failed,
                current.aux,
            )
        )


def witness_tx(state: State, tx: Tx, env: TxEnv) -> tuple[Receipt, list[StepWitness]]:
    """Apply ``tx`` to ``state`` and return its receipt with a witness per step."""
    tracer = WitnessTracer()
    previous = state.tracer
    state.tracer = tracer
    try:
        receipt = apply_tx(state, tx, env)
    finally:
        state.tracer = previous
    return receipt, tracer.witnesses
