"""Benchmark: L1 gas of the rollup's L1 operations (``rollbook bench gas``).

On the embedded EVM (py-evm through eth-tester, fork named in the output), with the
contracts deployed from source:

- a full batch of the ``bench codec`` reference tape posted to the inbox, and the
  output root proposed for it: the headline is their gas per fill (the L1 cost of
  settling a fill in optimistic mode, before blobs);
- a deposit (approve excluded), a forced tx, a withdrawal proven against a final root
  (in a withdrawals tree of ``--withdrawals`` leaves), and one output proposal.

Goal (issue #5): ≤ 6,000 gas per fill under Prague with calldata at #4's bytes per
fill. Prague prices calldata at max(4/16 gas per zero/non-zero byte + execution,
10/40 per byte floor, EIP-7623); a batch is mostly non-zero bytes, so ~40 gas/byte.
"""

from __future__ import annotations

import argparse
from typing import Any

from rollbook.chain.blocks import (
    Header,
    L2Block,
    Mode,
    output_root,
    output_version,
    prove_withdrawal,
)
from rollbook.cli import load_bench
from rollbook.codec.batch import encode_batch
from rollbook.codec.txcodec import encode_standalone
from rollbook.exchange.leaves import (
    GLOBALS_KEY,
    encode_leaf,
)
from rollbook.exchange.txs import Fill, Withdraw
from rollbook.l1.client import FORK
from rollbook.l1.driver import EvmL1
from rollbook.l1.escape import claim_pieces

FORCED_WITHDRAW = encode_standalone(Withdraw(0, 1, 0), bytes(32))
"""A forced tx the Portal takes: an unsigned withdrawal (the owner actions' encoding
does not depend on the domain)."""

GOAL = 6_000


def gas_of(l1: EvmL1, action: Any, now: int) -> tuple[int, int]:
    """Queue ``action`` on ``l1``, mine it, return (gas used, new now)."""
    before = len(l1.sent)
    action()
    now += 12
    l1.mine(now)
    receipts = [l1.client.receipt(h) for h in l1.sent[before:]]
    return sum(int(r["gasUsed"]) for r in receipts), now


def withdrawal_gas(l1: EvmL1, world: Any, count: int, now: int) -> tuple[int, int]:
    """Gas to prove and pay one withdrawal out of a tree of ``count``, against a
    final output root (proposed, then the challenge window waited out)."""
    people = list(world.traders.values())
    for k in range(count):
        trader = people[k % len(people)]
        nonce = world.state.account(trader.index).tx_nonce
        tx = world.owner_signed(
            Withdraw, trader, account=trader.index, amount=1_000_000, nonce=nonce
        )
        assert world.l2(tx).ok
    state = world.state
    header = Header(1, bytes(32), now, 0, bytes(32), state.root(), state.withdrawals_root())
    block = L2Block(header, (), (), 0)
    claim = prove_withdrawal(state, block, Mode.OPTIMISTIC, count // 2)
    l1.propose(claim.output_root(), 2, l1.tip.number)
    l1.back_genesis(10**12)
    now += 12
    l1.mine(now)
    now += 120
    l1.mine(now)
    index = int(l1.client.read(l1.system.oracle, "count")) - 1
    gas, _ = gas_of(l1, lambda: l1.withdraw(claim, index), now)
    return gas, len(claim.proof.siblings)


def escape_gas(l1: EvmL1, world: Any, owner: bytes, now: int) -> dict[str, int]:
    """Gas of the escape hatch: freeze, record the books, the largest claim, a payout."""
    state = world.state
    root = state.root()
    header = Header(3, bytes(32), now, 0, bytes(32), root, state.withdrawals_root())
    block = L2Block(header, (), (), 0)
    glob = state.globals()
    l1.back_genesis(glob.total_deposits - glob.total_withdrawals)
    l1.propose(
        output_root(Mode.OPTIMISTIC, root, header.withdrawals_root, block.hash), 3, l1.tip.number
    )
    now += 12
    l1.mine(now)
    l1.force(owner, FORCED_WITHDRAW)
    now += 12
    l1.mine(now)
    now += 200  # past the challenge window and the freeze delay
    l1.mine(now)
    unserved = int(l1.client.read(l1.system.portal, "next_forced_id")) - 1
    freeze, now = gas_of(l1, lambda: l1.portal_call("freeze", unserved), now)
    raw, proof = state.prove(GLOBALS_KEY)
    books, now = gas_of(
        l1,
        lambda: l1.portal_call(
            "record_books",
            root,
            header.withdrawals_root,
            header.encode(),
            encode_leaf(raw),
            list(proof.siblings),
        ),
        now,
    )
    index = max(
        (k[1] for k in state.keys_of_kind("acct")),
        key=lambda i: len(state.account(i).instruments),
    )
    positions = len(state.account(index).instruments)
    pieces = claim_pieces(state, index, now)
    raw, siblings = pieces.account, pieces.account_proof
    pos, pos_proofs = pieces.positions, pieces.position_proofs
    insts, inst_proofs = pieces.instruments, pieces.instrument_proofs
    claim, now = gas_of(l1, lambda: l1.portal_call("claim_open", index, raw, siblings), now)
    for k in range(positions):
        step, now = gas_of(
            l1,
            lambda k=k: l1.portal_call(
                "claim_position",
                index,
                raw,
                pos[k],
                pos_proofs[k],
                insts[k],
                inst_proofs[k],
                pieces.settlements[k],
            ),
            now,
        )
        claim += step
    step, now = gas_of(l1, lambda: l1.portal_call("claim_close", index), now)
    claim += step
    now += 120
    l1.mine(now)
    payout, now = gas_of(l1, lambda: l1.portal_call("settle_claim", index), now)
    return {
        "freeze_gas": freeze,
        "record_books_gas": books,
        "claim_gas": claim,
        "claim_positions": positions,
        "claim_gas_per_position": round(claim / max(positions, 1)),
        "escape_payout_gas": payout,
    }


def run(argv: list[str]) -> dict[str, object]:
    parser = argparse.ArgumentParser(prog="rollbook bench gas")
    parser.add_argument("--fills", type=int, default=1_000)
    parser.add_argument("--withdrawals", type=int, default=100)
    args = parser.parse_args(argv)
    codec = load_bench("codec")
    world, tape = codec.reference_tape(args.fills)
    encoded = codec.batches(world, tape)
    batch, data = encoded[0]
    fills = sum(1 for b in batch.blocks for t in b.txs if isinstance(t, Fill))
    assert encode_batch(batch, world.separator).data == data

    now = world.now
    l1 = EvmL1.embedded(
        now,
        output_version=output_version(Mode.OPTIMISTIC),
        challenge_window=60,
        freeze_delay=120,
        claim_period=120,
    )
    owner_key = world.traders["t0"].owner_key
    owner = world.traders["t0"].owner
    l1.add_owners({owner: owner_key})
    now += 12
    l1.mine(now)
    post, now = gas_of(l1, lambda: l1.post_batch(data), now)
    propose, now = gas_of(l1, lambda: l1.propose(b"\x01" * 32, 1, l1.tip.number), now)
    before = len(l1.sent)
    l1.deposit(owner, 1_000_000)
    now += 12
    l1.mine(now)
    deposit = int(l1.client.receipt(l1.sent[before + 2])["gasUsed"])  # mint, approve, deposit
    forced, now = gas_of(l1, lambda: l1.force(owner, FORCED_WITHDRAW), now)
    withdraw, depth = withdrawal_gas(l1, world, args.withdrawals, now)
    escape = escape_gas(l1, world, owner, now + 300)
    per_fill = (post + propose) / fills
    return {
        "headline": {
            "name": "gas",
            "value": round(per_fill),
            "unit": "L1 gas/fill (batch post + proposal)",
            "goal": GOAL,
        },
        "fork": FORK,
        "backend": "py-evm (eth-tester), embedded",
        "batch_bytes": len(data),
        "fills_in_batch": fills,
        "post_batch_gas": post,
        "post_gas_per_byte": round(post / len(data), 2),
        "propose_gas": propose,
        "deposit_gas": deposit,
        "forced_tx_gas": forced,
        "withdrawal_gas": withdraw,
        "withdrawals_in_tree": args.withdrawals,
        "withdrawal_proof_depth": depth,
        **escape,
    }
