"""Real txs and batches for the codec tests, and byte-level tools to tamper with them.

Everything here is built with :class:`rollbook.sim.world.World`: real listings, real
secp256k1 keys, real EIP-712 signatures. The session batches are applied to the STF
as they are built, and every tx in them is accepted, so they are the bytes a batcher
would post, not made-up ones.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from rollbook.codec.batch import (
    COUNTS_OFFSET,
    VERSION,
    Batch,
    BatchBlock,
    encode_batch,
    frame,
    instrument_table,
)
from rollbook.codec.txcodec import NO_SIGNATURE, TxContext
from rollbook.codec.wire import uint
from rollbook.crypto.secp256k1 import SECP256K1_N, private_key_address
from rollbook.exchange.orders import SignedOrder
from rollbook.exchange.txs import (
    Backstop,
    Deposit,
    Fill,
    ForcedClose,
    Liquidate,
    ListInstrument,
    NonceFloor,
    RegisterKey,
    RevokeKey,
    SetInstrumentParams,
    SetMarginMode,
    SetOracle,
    SetRiskParams,
    SettleAccount,
    Transfer,
    Tx,
    Withdraw,
)
from rollbook.exchange.types import OrderFlags, Side
from rollbook.sim.world import (
    GENESIS_TIME,
    World,
    base,
    key_from_label,
    option_chain,
    perp_spec,
    usd,
)

ROOT = Path(__file__).resolve().parents[2]

PERP = 1
CALL_3000, PUT_3000, CALL_3300, PUT_3300 = 10, 11, 12, 13
OPTIONS = (CALL_3000, PUT_3000, CALL_3300, PUT_3300)
OPTION_EXPIRY = GENESIS_TIME + 86_400 + 8 * 3600  # 2026-01-02T08:00:00Z
PERP_TICK, PERP_LOT = 50_000, 100_000  # perp_spec's defaults: $0.05, 0.001 ETH
VOL = 800_000

# -- the wire layout, field by field (txcodec's module docstring) ----------------------

SIGNATURE = 64  # EIP-2098: r || yParity·2²⁵⁵ + s
# head u8 | account u24 | instrument index u8 | ticks u32 | lots u24 | max fee u16 |
# expiry offset u24 | slot u16 | nonce u24
NARROW_MAKER = 1 + 3 + 1 + 4 + 3 + 2 + 3 + 2 + 3
NARROW_TAKER = NARROW_MAKER - 1  # no instrument: the maker's
NARROW_TAKER_AT_PRICE = NARROW_TAKER - 4  # head bit 0: the maker's price, not written
# head u8 | account u32 | instrument u16 | price u64 | size u64 | max fee u32 |
# expiry u64 | slot u16 | nonce u32
WIDE_MAKER = 1 + 4 + 2 + 8 + 8 + 4 + 8 + 2 + 4
WIDE_TAKER = WIDE_MAKER - 2
WIDE_TAKER_AT_PRICE = WIDE_TAKER - 8
AT_MAKER_PRICE = 0x01  # bit 0 of a taker's head (a maker's is its side)
# version u8 | chain id u64 | first block u64
INSTRUMENT_COUNT_OFFSET = 1 + 8 + 8
assert INSTRUMENT_COUNT_OFFSET == COUNTS_OFFSET
TABLE_ENTRY = 2 + 8 + 8  # id u16 | tick u64 | lot u64
BLOCK_HEADER = 8 + 8 + 2  # timestamp u64 | l1 origin u64 | tx count u16


def block_header_offset(table_size: int, block: int) -> int:
    """Where block ``block``'s header starts in a batch with ``table_size`` instruments."""
    return INSTRUMENT_COUNT_OFFSET + 1 + TABLE_ENTRY * table_size + 2 + BLOCK_HEADER * block


# -- signatures ------------------------------------------------------------------------


def with_parity_v(signature: bytes) -> bytes:
    """The same signature with ``v`` written as the bare parity (0 or 1)."""
    return signature[:64] + bytes([signature[64] - 27])


def high_s_twin(signature: bytes) -> bytes:
    """The malleated twin ``(r, n - s, v ^ 1)``: valid ECDSA, but high-s."""
    s = int.from_bytes(signature[32:64], "big")
    return signature[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([signature[64] ^ 1])


def resumed(signed: SignedOrder) -> SignedOrder:
    """``signed`` as a repeat fill carries it: the order without its signature."""
    return SignedOrder(signed.order, NO_SIGNATURE, signed.digest)


def strip_repeats(txs: Iterable[Tx], seen: set[bytes] | None = None) -> tuple[Tx, ...]:
    """``txs`` as the sequencer posts them: an order already carried (earlier in
    ``txs``, or in ``seen``: the digests of earlier batches) is a repeat fill and
    carries :data:`NO_SIGNATURE`; the codec then writes it as a reference, or resumed.
    ``seen`` is updated."""
    seen = set() if seen is None else seen

    def strip(signed: SignedOrder) -> SignedOrder:
        if signed.digest in seen:
            return resumed(signed)
        seen.add(signed.digest)
        return signed

    out: list[Tx] = []
    for tx in txs:
        if isinstance(tx, Fill):
            tx = Fill(strip(tx.maker), strip(tx.taker), tx.size)
        elif isinstance(tx, Liquidate):
            tx = Liquidate(tx.account, strip(tx.maker), tx.size)
        out.append(tx)
    return tuple(out)


# -- the session: two real batches over perps and options ------------------------------


@dataclass(frozen=True)
class Session:
    """What the batcher of a short trading session would post."""

    separator: bytes
    grid: dict[int, tuple[int, int]]
    batches: tuple[Batch, ...]


def _apply_block(
    world: World, blocks: list[BatchBlock], origin: int, txs: Sequence[Tx], seen: set[bytes]
) -> None:
    """Strip repeats, apply to the STF (every tx must be accepted), record the block."""
    txs = strip_repeats(txs, seen)
    for tx in txs:
        receipt = world.l2(tx)
        assert receipt.ok, (tx, receipt)
    blocks.append(BatchBlock(world.now, origin, tuple(txs)))


@functools.cache
def session() -> Session:
    """Two batches: perp and option fills, oracle reports with vols, owner txs,
    makers filled twice in a batch (repeats: written by reference) and again in the
    next batch (written resumed), over blocks with increasing timestamps and origins."""
    world = World()
    assert world.list_perp().ok
    assert world.l1(option_chain(CALL_3000, OPTION_EXPIRY, (3000, 3300))).ok
    alice, bob, carol, dave = (world.add_trader(n, 10_000_000) for n in "abcd")
    grid = {
        i: (world.state.instrument(i).tick, world.state.instrument(i).lot) for i in (PERP, *OPTIONS)
    }
    bid = usd(2999) + 950_000  # $2999.95: on the $0.05 tick

    seen: set[bytes] = set()
    first: list[BatchBlock] = []
    # block 0: a report with vols; a maker filled by two takers; a partial fill.
    ask = world.order(alice, Side.SELL, usd(3000), base(2, 2))
    resting_bid = world.order(dave, Side.BUY, bid, base(10, 2), flags=OrderFlags.POST_ONLY)
    hitter = world.order(alice, Side.SELL, bid, base(5, 2))
    _apply_block(
        world,
        first,
        100,
        [
            world.oracle_update(
                {1: usd(3000)}, {PERP: usd(3000)}, vols=dict.fromkeys(OPTIONS, VOL)
            ),
            Fill(ask, world.order(bob, Side.BUY, usd(3000), base(1, 2)), base(1, 2)),
            Fill(  # through the ask's price by two ticks
                ask, world.order(carol, Side.BUY, usd(3000) + 2 * PERP_TICK, base(1, 2)), base(1, 2)
            ),
            Fill(resting_bid, hitter, base(2, 2)),
            Fill(resting_bid, hitter, base(3, 2)),
        ],
        seen,
    )
    # block 1, two seconds later, same origin: options, owner txs.
    world.advance(2)
    call_ask = world.order(alice, Side.SELL, usd(150), base(1, 1), instrument=CALL_3000)
    put_bid = world.order(carol, Side.BUY, usd(320), base(2, 1), instrument=PUT_3300)
    _apply_block(
        world,
        first,
        100,
        [
            Fill(call_ask, world.order(bob, Side.BUY, usd(150), base(1, 1), CALL_3000), base(1, 1)),
            Fill(
                put_bid,
                world.order(dave, Side.SELL, usd(320), base(2, 1), PUT_3300, OrderFlags.IOC),
                base(1, 1),
            ),
            world.owner_signed(Withdraw, bob, account=bob.index, amount=usd(100), nonce=1),
            world.owner_signed(
                Transfer, carol, sender=carol.index, recipient=dave.index, amount=usd(5), nonce=1
            ),
            SettleAccount(alice.index),
        ],
        seen,
    )
    # block 2, one second later, next origin: a new report; the bid again.
    world.advance(1)
    _apply_block(
        world,
        first,
        101,
        [
            world.oracle_update(
                {1: usd(3001)}, {PERP: usd(3001)}, vols=dict.fromkeys(OPTIONS, VOL)
            ),
            Fill(
                resting_bid,
                world.order(bob, Side.SELL, bid, base(1, 2), flags=OrderFlags.REDUCE_ONLY),
                base(1, 2),
            ),
        ],
        seen,
    )
    # The next batch: the makers still rest, so they come back resumed.
    second: list[BatchBlock] = []
    world.advance(5)
    _apply_block(
        world,
        second,
        102,
        [
            Fill(resting_bid, world.order(carol, Side.SELL, bid, base(1, 2)), base(1, 2)),
            Fill(
                put_bid,
                world.order(bob, Side.SELL, usd(320), base(1, 1), PUT_3300),
                base(1, 1),
            ),
            world.owner_signed(SetMarginMode, dave, account=dave.index, portfolio=True, nonce=1),
        ],
        seen,
    )
    one = Batch(31337, 7, tuple(first), instrument_table(tuple(first), grid))
    two = Batch(31337, 7 + len(first), tuple(second), instrument_table(tuple(second), grid))
    return Session(world.separator, grid, (one, two))


@functools.cache
def session_bytes() -> tuple[bytes, ...]:
    s = session()
    return tuple(encode_batch(b, s.separator).data for b in s.batches)


# -- one tx of every kind --------------------------------------------------------------


@dataclass(frozen=True)
class Catalogue:
    separator: bytes
    now: int
    txs: tuple[tuple[str, Tx], ...]
    fill: Fill
    """Half of a taker (buys 0.02 at the maker's price, IOC) against a maker (sells
    0.02), on the perp."""


@functools.cache
def catalogue() -> Catalogue:
    """Every tx type, owner txs signed and unsigned (not applied to a state)."""
    world = World()
    assert world.list_perp().ok
    alice = world.add_trader("alice", 1_000_000)
    bob = world.add_trader("bob", 1_000_000)
    register = world.last_key_registration
    maker = world.order(alice, Side.SELL, usd(3000), base(2, 2))
    taker = world.order(bob, Side.BUY, usd(3000), base(2, 2), flags=OrderFlags.IOC)
    fill = Fill(maker, taker, base(1, 2))
    through = world.order(bob, Side.BUY, usd(3000) + 2 * PERP_TICK, base(1, 2))
    signed = world.owner_signed
    trading = private_key_address(key_from_label("another trading key"))
    txs: list[tuple[str, Tx]] = [
        ("deposit", Deposit(41, alice.owner, usd(250))),
        ("withdraw", signed(Withdraw, alice, account=alice.index, amount=usd(10), nonce=7)),
        ("withdraw-forced", Withdraw(alice.index, usd(10), 7)),
        (
            "transfer",
            signed(Transfer, alice, sender=alice.index, recipient=bob.index, amount=3, nonce=2),
        ),
        ("transfer-forced", Transfer(alice.index, bob.index, 2**64 - 1, 2**32 - 1)),
        ("register-key", register),
        ("register-key-forced", RegisterKey(bob.index, 255, trading, 9)),
        ("revoke-key", signed(RevokeKey, bob, account=bob.index, key_index=0, nonce=3)),
        ("revoke-key-forced", RevokeKey(bob.index, 1, 4)),
        ("nonce-floor", signed(NonceFloor, alice, account=alice.index, floor=1000)),
        ("nonce-floor-forced", NonceFloor(alice.index, 2**32 - 1)),
        (
            "margin-mode",
            signed(SetMarginMode, alice, account=alice.index, portfolio=True, nonce=5),
        ),
        ("margin-mode-forced", SetMarginMode(alice.index, False, 6)),
        ("settle-account", SettleAccount(2**32 - 1)),
        ("forced-close", ForcedClose(2**32 - 1, 2**16 - 1)),
        ("backstop", Backstop(bob.index, 65535)),
        ("liquidate", Liquidate(bob.index, maker, base(1, 2))),
        ("fill", fill),
        ("fill-whole", Fill(maker, taker, taker.order.size)),
        ("fill-through", Fill(maker, through, through.order.size)),
        (
            "oracle",
            world.oracle_update(
                {1: usd(3000), 2: usd(60_000)},
                {PERP: usd(3001)},
                vols={CALL_3000: VOL, PUT_3000: 10_000, CALL_3300: 5_000_000},
                signers=3,
            ),
        ),
        ("oracle-index-only", world.oracle_update({1: usd(2990)}, {})),
        ("oracle-marks-only", world.oracle_update({}, {PERP: usd(2990)}, signers=1)),
        (
            "list-instrument",
            ListInstrument(perp_spec(2, "BTC_USDC-PERPETUAL", asset=2, tick=1_000_000, lot=10_000)),
        ),
        ("list-option-chain", option_chain(20, OPTION_EXPIRY, (2800, 3000, 3200))),
        (
            "set-instrument-params",
            SetInstrumentParams(1, 50_000, 30_000, 100, 500, 10_000, 5_000, 10**15, False),
        ),
        (
            "set-oracle",
            SetOracle(
                tuple(private_key_address(key_from_label(f"o{i}")) for i in range(4)),
                3,
                60,
                100_000,
            ),
        ),
        ("set-oracle-empty", SetOracle((), 0, 0, 0)),
        ("set-risk-params", SetRiskParams(32, 30 * 86_400, 20_000, 5_000)),
    ]
    return Catalogue(world.separator, world.now, tuple(txs), fill)


# -- crafting batches byte by byte -----------------------------------------------------


def assemble(
    blocks: Sequence[tuple[int, int, Sequence[bytes]]],
    table: Sequence[tuple[int, int, int]] = (),
    *,
    version: int = VERSION,
    chain_id: int = 31337,
    first_block: int = 1,
) -> bytes:
    """Batch bytes from ``(timestamp, origin, tx encodings)`` per block, each tx framed
    as an item: how a hand-crafted batch reaches the field under test."""
    items = [tx for _, _, txs in blocks for tx in txs]
    return b"".join(
        (
            bytes([version]),
            uint(chain_id, 8),
            uint(first_block, 8),
            bytes([len(table)]),
            b"".join(uint(i, 2) + uint(t, 8) + uint(lot, 8) for i, t, lot in table),
            uint(len(blocks), 2),
            b"".join(uint(t, 8) + uint(o, 8) + uint(len(txs), 2) for t, o, txs in blocks),
            *(frame(item) for item in items),
        )
    )


def batch_context(
    separator: bytes, table: Sequence[tuple[int, int, int]], timestamp: int
) -> TxContext:
    """A fresh context as a batch with instrument table ``table`` starts one."""
    ctx = TxContext(separator, timestamp)
    for index, (instrument, tick, lot) in enumerate(table):
        ctx.instruments[instrument] = (index, tick, lot)
        ctx.table.append(instrument)
    return ctx


def load_bench_stf() -> ModuleType:
    """``bench/stf.py`` (not a package) loaded from its path."""
    spec = importlib.util.spec_from_file_location("bench_stf", ROOT / "bench" / "stf.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
