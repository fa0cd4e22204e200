"""Benchmark: L1 bytes per fill of the batch codec (``rollbook bench codec``).

The reference tape is fixed by docs/design/batch.md ("The reference tape"):

- one ETH perpetual and one ETH option expiry (5 strikes, calls and puts: 10 options);
  70 % of maker orders on the perpetual, 30 % on an option (round-robin over the 10);
- every maker order fills twice (two takers, each taking half), every taker order
  once and whole — "taker orders fill once, maker orders twice on average"; the
  first taker's limit is the maker's price, the second's 2 ticks through it;
- an oracle report (index, perp mark, 10 option vols, 2 signatures) every 500 fills;
- 200 traders with real secp256k1 trading keys and EIP-712 orders, maker and taker
  drawn round-robin; one L2 block per 100 txs; each batch carries as many blocks
  as fit in ``MAX_BATCH_BYTES``; repeat fills carry no signature (the sequencer's
  ``strip_repeats``), so a maker's second fill is a reference, or *resumed* when it
  falls in the next batch.

The tape is first run through the STF (every fill must settle: a tape the STF
rejects would measure nothing), then encoded. Headline: L1 bytes per fill (goal ≤ 130,
of which ≤ 20 not signatures). Details: signature bytes per fill, the split by
section, and the anchors.
"""

from __future__ import annotations

import argparse
import json

from rollbook.chain.sequencer import strip_repeats
from rollbook.codec.batch import MAX_BATCH_BYTES, Batch, BatchBlock, encode_batch, instrument_table
from rollbook.codec.errors import Oversized
from rollbook.codec.txcodec import NO_SIGNATURE, encode_standalone
from rollbook.exchange.env import SignatureCache
from rollbook.exchange.txs import Fill, OracleUpdate, Tx
from rollbook.exchange.types import Side
from rollbook.sim.world import World, base, option_chain, usd

GOAL = 130
GOAL_NON_SIGNATURE = 20
PERP = 1
FIRST_OPTION = 10
STRIKES = (2800, 2900, 3000, 3100, 3200)
VOL_PPM = 700_000
TXS_PER_BLOCK = 100


def reference_tape(fills: int, traders: int = 200) -> tuple[World, list[Tx]]:
    """The tape of the module docstring, applied to ``world`` as it is built."""
    world = World()
    world.cache = SignatureCache()
    world.fast = True
    assert world.list_perp().ok
    expiry = world.now - world.now % 86_400 + 30 * 86_400 + 8 * 3600
    assert world.l1(option_chain(FIRST_OPTION, expiry, STRIKES)).ok
    options = list(range(FIRST_OPTION, FIRST_OPTION + 2 * len(STRIKES)))
    people = [world.add_trader(f"t{i}", 5_000_000) for i in range(traders)]
    tape: list[Tx] = []

    def report() -> None:
        world.advance(1)
        update = world.oracle_update(
            {1: usd(3000)}, {PERP: usd(3000)}, vols=dict.fromkeys(options, VOL_PPM)
        )
        assert world.l2(update).ok
        tape.append(update)

    report()
    marks = {i: world.state.instrument(i).mark for i in options}
    count = 0
    k = 0
    while count < fills:
        maker = people[k % traders]
        side = Side.SELL if k % 2 == 0 else Side.BUY
        if k % 10 < 7:
            instrument, price, size = PERP, usd(3000), base(2, 2)
        else:
            instrument = options[k % len(options)]
            tick = world.state.instrument(instrument).tick
            price = max(tick, marks[instrument] // tick * tick)
            size = base(2, 1)
        maker_order = world.order(maker, side, price, size, instrument)
        tick = world.state.instrument(instrument).tick
        for j in range(2):
            taker = people[(k + 1 + 7 * j) % traders]
            # Half the takers send their limit at the touch, half allow 2 ticks.
            limit = price if j == 0 else price + (2 * tick if side is Side.SELL else -2 * tick)
            taker_order = world.order(taker, side.opposite, limit, size // 2, instrument)
            fill = strip_repeats(world.state, Fill(maker_order, taker_order, size // 2))
            receipt = world.l2(fill)
            if not receipt.ok:
                raise SystemExit(f"the reference tape must settle: {receipt}")
            tape.append(fill)
            count += 1
            if count % 500 == 0:
                report()
        k += 1
    return world, tape


def signature_bytes(batch: Batch) -> int:
    """64 bytes per signature the batch carries (orders written new, oracle reports)."""
    seen: dict[bytes, None] = {}
    total = 0
    for block in batch.blocks:
        for tx in block.txs:
            if isinstance(tx, OracleUpdate):
                total += 64 * len(tx.signatures)
            elif isinstance(tx, Fill):
                for signed in (tx.maker, tx.taker):
                    key = signed.digest + signed.signature
                    if signed.signature != NO_SIGNATURE and key not in seen:
                        seen[key] = None
                        total += 64
    return total


def batches(world: World, tape: list[Tx], chain_id: int = 901) -> list[tuple[Batch, bytes]]:
    """Cut the tape into blocks, and the blocks into the fewest batches that fit."""
    grid = {
        i: (world.state.instrument(i).tick, world.state.instrument(i).lot)
        for i in {PERP} | {tx.maker.order.instrument for tx in tape if isinstance(tx, Fill)}
    }
    blocks = [
        BatchBlock(world.now, 0, tuple(tape[i : i + TXS_PER_BLOCK]))
        for i in range(0, len(tape), TXS_PER_BLOCK)
    ]
    out: list[tuple[Batch, bytes]] = []
    start = 0
    while start < len(blocks):
        end = start + 1
        best: tuple[Batch, bytes] | None = None
        while end <= len(blocks):
            body = tuple(blocks[start:end])
            batch = Batch(chain_id, start, body, instrument_table(body, grid))
            try:
                data = encode_batch(batch, world.separator).data
            except Oversized:
                break
            best = (batch, data)
            end += 1
        if best is None:
            raise SystemExit("one block does not fit in a batch")
        out.append(best)
        start += len(best[0].blocks)
    return out


def run(argv: list[str]) -> dict[str, object]:
    parser = argparse.ArgumentParser(prog="rollbook bench codec")
    parser.add_argument("--fills", type=int, default=10_000)
    args = parser.parse_args(argv)
    world, tape = reference_tape(args.fills)
    fills = sum(1 for t in tape if isinstance(t, Fill))
    option_fills = sum(1 for t in tape if isinstance(t, Fill) and t.maker.order.instrument != PERP)
    encoded = batches(world, tape)
    total = sum(len(data) for _, data in encoded)
    signatures = sum(signature_bytes(batch) for batch, _ in encoded)
    oracle = sum(
        len(encode_standalone(t, world.separator)) for t in tape if isinstance(t, OracleUpdate)
    )
    per_fill = total / fills
    return {
        "headline": {
            "name": "codec",
            "value": round(per_fill, 1),
            "unit": "L1 bytes/fill",
            "goal": GOAL,
        },
        "fills": fills,
        "option_fills": option_fills,
        "batches": len(encoded),
        "batch_bytes": [len(d) for _, d in encoded],
        "total_bytes": total,
        "signature_bytes_per_fill": round(signatures / fills, 1),
        "non_signature_bytes_per_fill": round((total - signatures) / fills, 1),
        "goal_non_signature": GOAL_NON_SIGNATURE,
        "oracle_bytes_per_fill": round(oracle / fills, 2),
        "max_batch_bytes": MAX_BATCH_BYTES,
        "anchors": {
            "op_fee_model_min_bytes_per_tx": 100,
            "zksync_lite_bytes_per_swap_without_signatures": 50,
            "loopring_bytes_per_trade_design": 28,
        },
        "stf_settled_every_fill": True,
    }


if __name__ == "__main__":
    import sys

    print(json.dumps(run(sys.argv[1:])))
