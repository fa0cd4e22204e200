"""The one-step executor's witnesses, as its ABI wants them (``StepExecutor.vy``).

:func:`witness_at` turns the step at an offset of a block trace
(:mod:`rollbook.chain.trace`) into the ``Witness`` struct the executor decodes: the
pre-context and roots that open the agreed checkpoint, the headers, block inputs, tx
item and path, the receipts frontier, the leaves read with their proofs against the
pre-root, and a proof per written leaf against the running root.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eth_abi import abi

from rollbook.chain.trace import CARRY_WORDS, BlockTrace, StepContext
from rollbook.codec.txroot import EMPTY_FRONTIER
from rollbook.commitment.proofs import BranchOpening, LeafOpening, Proof
from rollbook.exchange.leaves import encode_leaf
from rollbook.exchange.state import leaf_path
from rollbook.exchange.steps import SEAL, TX_END, TX_LOAD

ZERO = bytes(32)

FAMILY_CONTRACTS: dict[int, str] = {
    1: "DepositSteps",
    2: "AccountSteps",
    3: "MarginSteps",
    4: "TradingSteps",
    5: "LiquidationSteps",
    6: "OracleSteps",
    7: "ExpirySteps",
    8: "GovernanceSteps",
}
"""The step families deployed so far, by family index (``rollbook.chain.trace.
FAMILIES``); the executor takes their addresses in a 16-slot array."""
FAMILY_SLOTS = 16


NORMAL_TABLES = ("NormalTable0", "NormalTable1", "NormalTable2")
FAMILY_HELPERS: tuple[str, ...] = (*NORMAL_TABLES, "Black76", "LiquidationMoves")
"""Contracts the families call, in deployment order: the normal CDF's table
(:mod:`rollbook.l1.normal_table`) and the Black-76 pricer that ``OracleSteps`` calls
for an option's mark (its code and the table's are more than one contract may hold),
and the position moves ``LiquidationSteps`` calls (``LiquidationMoves``: the family's
rules and ``positions.vy`` are more than EIP-170's 24 KB)."""


def helper_args(name: str, addresses: Mapping[str, Any]) -> list[Any]:
    """A helper's constructor arguments, given the deployment's ``addresses`` by name."""
    return [[addresses[t] for t in NORMAL_TABLES]] if name == "Black76" else []


def family_args(name: str, domain_separator: bytes, addresses: Mapping[str, Any]) -> list[Any]:
    """A family contract's constructor arguments: the deployment's EIP-712 domain for
    those that check owners', traders' or the oracle's signatures, and the helpers'
    addresses (in ``addresses``, by name): the pricer for the oracle's, the position
    moves for the liquidation's."""
    if name in ("AccountSteps", "TradingSteps"):
        return [domain_separator]
    if name == "OracleSteps":
        return [domain_separator, addresses["Black76"]]
    if name == "LiquidationSteps":
        return [addresses["LiquidationMoves"]]
    return []


WITNESS_ABI = (
    "((bytes32,uint256,uint256,uint256,uint256,uint256,uint256,bytes32,bytes32,bytes32,uint256,"
    "uint256,bytes32,bytes32,uint256,uint256,bytes32,int256[16]),bytes32,bytes32,bytes,bytes,bytes,"
    "bytes32[],bytes32[20],(bytes32,bytes,(bytes32[],bool,bytes32,bytes32,uint8,bytes32,bytes32))[],"
    "(bytes32[],bool,bytes32,bytes32,uint8,bytes32,bytes32)[],"
    "(bytes32[],bool,bytes32,bytes32,uint8,bytes32,bytes32)[],bytes,bytes,bytes,"
    "(uint256,bytes,bytes32[])[])"
)
"""The ``Witness`` struct's ABI type (for encoding it by hand, as the game does)."""


def proof_struct(proof: Proof) -> tuple[Any, ...]:
    """A state-tree proof as ``smt.vy``'s ``Proof`` struct."""
    terminal = proof.terminal
    opening = proof.opening
    if isinstance(opening, LeafOpening):
        tag, a, b = 1, opening.path, opening.value_hash
    elif isinstance(opening, BranchOpening):
        tag, a, b = 2, opening.left, opening.right
    else:
        tag, a, b = 0, ZERO, ZERO
    return (
        list(proof.siblings),
        terminal is not None,
        terminal[0] if terminal else ZERO,
        terminal[1] if terminal else ZERO,
        tag,
        a,
        b,
    )


def context_struct(ctx: StepContext | None) -> tuple[Any, ...]:
    if ctx is None:
        ctx = StepContext(ZERO, 0, pc=0)
    carry = list(ctx.carry) + [0] * (CARRY_WORDS - len(ctx.carry))
    return (
        ctx.block,
        ctx.timestamp,
        ctx.tx_index,
        ctx.next_input,
        ctx.next_sequenced,
        ctx.sequenced_end,
        ctx.batch,
        ctx.batch_table,
        ctx.receipts,
        ctx.tx_hash,
        ctx.pc,
        ctx.step,
        ctx.tx_pre_root,
        ctx.tx_pre_withdrawals,
        int(ctx.failed),
        ctx.code,
        ctx.error,
        carry,
    )


def witness_at(trace: BlockTrace, offset: int) -> tuple[Any, ...]:
    """The executor's witness for the step from ``offset`` to ``offset + 1``."""
    step = trace.step_at(offset)
    if step is None:  # a no-op past the seal: open the block's output root
        final = trace.steps[-1].post
        assert final.header is not None
        return _witness(header=final.header.encode())
    pre = step.pre
    if offset == 0:  # the block's first L1 input and its batch, which the executor checks
        assert pre.header is not None and trace.source is not None
        return _witness(
            header=pre.header.encode(),
            inputs=trace.inputs.encode(),
            aux=trace.first_input.to_bytes(32, "big") + trace.source.record.to_bytes(32, "big"),
            head=trace.source.head,
        )
    base: dict[str, Any] = {
        "context": pre.context,
        "state_root": pre.state_root,
        "withdrawals_root": pre.withdrawals_root,
    }
    if step.name == TX_LOAD:
        if step.batch is None:  # an L1 input, or the end of the block's txs
            return _witness(**base, inputs=trace.inputs.encode(), item=step.item)
        return _witness(
            **base,
            inputs=trace.inputs.encode(),
            item=step.batch.item,
            path=step.batch.path,
            table=step.batch.table,
            aux=step.batch.time.to_bytes(8, "big"),
            named=[(n.index, n.item, list(n.path)) for n in step.batch.named],
        )
    if step.name == TX_END:
        return _witness(**base, frontier=step.frontier)
    if step.name == SEAL:
        return _witness(**base, inputs=trace.inputs.encode(), frontier=step.frontier)
    w = step.witness
    assert w is not None
    reads = [
        (leaf_path(r.key), b"" if r.leaf is None else encode_leaf(r.leaf), proof_struct(r.proof))
        for r in w.reads
    ]
    return _witness(
        **base,
        item=step.item,
        reads=reads,
        writes=[proof_struct(x.proof) for x in w.writes],
        withdrawal_writes=[proof_struct(x.proof) for x in w.withdrawal_writes],
        aux=w.aux,
    )


def _witness(
    context: StepContext | None = None,
    state_root: bytes = ZERO,
    withdrawals_root: bytes = ZERO,
    header: bytes = b"",
    inputs: bytes = b"",
    item: bytes = b"",
    path: tuple[bytes, ...] = (),
    frontier: tuple[bytes, ...] = EMPTY_FRONTIER,
    reads: list[Any] | None = None,
    writes: list[Any] | None = None,
    withdrawal_writes: list[Any] | None = None,
    aux: bytes = b"",
    head: bytes = b"",
    table: bytes = b"",
    named: list[Any] | None = None,
) -> tuple[Any, ...]:
    return (
        context_struct(context),
        state_root,
        withdrawals_root,
        header,
        inputs,
        item,
        list(path),
        list(frontier),
        reads or [],
        writes or [],
        withdrawal_writes or [],
        aux,
        head,
        table,
        named or [],
    )


def witness_tail(trace: BlockTrace, offset: int) -> bytes:
    """The witness as the dispute game forwards it: the ABI tail of ``execute``'s
    arguments after their four head words (the game prepends the selector, the agreed
    checkpoint, the offset, the block's inputs and the tail's offset, 128)."""
    encoded = abi.encode(
        ["bytes32", "uint256", "bytes32", WITNESS_ABI],
        [ZERO, offset, ZERO, witness_at(trace, offset)],
    )
    return encoded[128:]
