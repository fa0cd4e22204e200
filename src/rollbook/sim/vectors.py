"""STF test vectors: ``pre / tx / post`` in JSON, in the fixed test domain.

Each vector is one tx applied to a small pre-state: the pre-state's leaves, the tx (all
fields, signatures included) and its compact codec encoding, the env (block time,
origin, L1 sender), the outcome (receipt, post-state leaves, post root), and a
witness per step (#4): pre/post state and withdrawals roots, carried values, each touched leaf with
its proof, each write with its proof against the running root. Later implementations of the STF —
the Vyper one-step executor (#7) and the circuits (#8) — must reproduce every vector.
``tests/vectors/stf/manifest.json`` pins each file by SHA-256; the test suite rebuilds
the vectors and fails on any difference, so a consensus change is always deliberate
(``rollbook vectors --out tests/vectors/stf`` rewrites them).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Callable
from dataclasses import fields, is_dataclass, replace
from enum import Enum
from pathlib import Path
from typing import Any

from rollbook.chain.blocks import tx_item
from rollbook.chain.derive import ChainConfig, build_batched_block, genesis_block
from rollbook.chain.l1 import L1Ref
from rollbook.chain.trace import BlockTrace, trace_block
from rollbook.codec.txcodec import encode_standalone
from rollbook.commitment.witness import StepWitness, witness_tx
from rollbook.crypto.keccak import keccak256
from rollbook.crypto.secp256k1 import sign_digest
from rollbook.exchange.leaves import (
    FUND_MAX_POSITIONS,
    INSURANCE_FUND,
    Leaf,
    account_key,
    instrument_key,
    position_key,
)
from rollbook.exchange.orders import sign_order
from rollbook.exchange.state import State, leaf_path
from rollbook.exchange.stf import BlockTx
from rollbook.exchange.txs import (
    Backstop,
    Fill,
    ForcedClose,
    Liquidate,
    ListInstrument,
    NonceFloor,
    OracleUpdate,
    Origin,
    RevokeKey,
    SetInstrumentParams,
    SetMarginMode,
    SetOracle,
    SetRiskParams,
    SettleAccount,
    Transfer,
    Tx,
    Withdraw,
    oracle_report_digest,
)
from rollbook.exchange.types import OrderFlags, Side
from rollbook.sim.world import (
    GENESIS_TIME,
    Trader,
    World,
    base,
    key_from_label,
    option_chain,
    perp_spec,
    usd,
)

DEFAULT_OUT = Path(__file__).resolve().parents[3] / "tests" / "vectors" / "stf"


def to_json(value: Any) -> Any:
    """JSON form of leaves, txs and their fields (bytes as 0x-hex, ints as ints)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, Enum):
        return int(value.value) if isinstance(value.value, int) else value.name
    if isinstance(value, int):
        return value
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, str):
        return value
    if value is None:
        return None
    if hasattr(value, "_fields"):
        return {
            "type": type(value).__name__,
            **{f: to_json(getattr(value, f)) for f in value._fields},
        }
    if is_dataclass(value) and not isinstance(value, type):
        return {
            "type": type(value).__name__,
            **{f.name: to_json(getattr(value, f.name)) for f in fields(value)},
        }
    if isinstance(value, tuple | list):
        return [to_json(v) for v in value]
    raise TypeError(f"cannot serialise {type(value).__name__}")


def leaves_json(state: State) -> list[Any]:
    return [[to_json(list(k)), to_json(v)] for k, v in state.items()]


def _leaf(v: Leaf) -> Any:
    return to_json(v)


Scenario = Callable[[World], tuple[Tx, Origin, bytes | None]]


def _base_world() -> World:
    w = World()
    w.list_perp()
    w.add_trader("alice", 10_000)
    w.add_trader("bob", 10_000)
    w.set_prices(usd(3000))
    return w


def _open(w: World) -> None:
    a, b = w.traders["alice"], w.traders["bob"]
    m = w.order(a, Side.SELL, usd(3000), base(1))
    t = w.order(b, Side.BUY, usd(3000), base(1))
    assert w.l2(Fill(m, t, base(1))).ok


def _funding_hour(w: World, mark: int) -> None:
    """A position open through an hour of marks at ``mark`` against an index of 3000."""
    _open(w)
    w.advance(30)
    assert w.set_prices(usd(3000), usd(mark)).ok
    w.advance(3600)


def fill_the_fund(w: World, first_id: int = 100) -> list[tuple[Trader, int]]:
    """List a chain of 25 strikes (50 options, ids from ``first_id``), have two buyers
    take one of each from two makers (at most 25 positions per account), then force
    close all but two of the buyers' positions into the insurance fund, which then
    holds ``FUND_MAX_POSITIONS`` (48). Returns the (buyer, instrument) pairs left."""
    expiry = GENESIS_TIME + 2 * 86_400 + 8 * 3600
    assert w.l1(option_chain(first_id, expiry, tuple(2000 + 50 * k for k in range(25)))).ok
    ids = list(range(first_id, first_id + 50))
    w.advance(10)
    report = w.oracle_update({1: usd(3000)}, {1: usd(3000)}, vols=dict.fromkeys(ids, 700_000))
    assert w.l2(report).ok
    makers = [w.add_trader(f"fund-maker-{k}", 100_000_000) for k in range(2)]
    buyers = [w.add_trader(f"fund-buyer-{k}", 10_000_000) for k in range(2)]
    held: list[tuple[Trader, int]] = []
    for n, instrument in enumerate(ids):
        maker, buyer = makers[n % 2], buyers[n % 2]
        price = max(100_000, w.state.instrument(instrument).mark // 100_000 * 100_000)
        ask = w.order(maker, Side.SELL, price, base(1), instrument)
        bid = w.order(buyer, Side.BUY, price, base(1), instrument)
        assert w.l2(Fill(ask, bid, base(1))).ok
        held.append((buyer, instrument))
    for buyer, instrument in held[:FUND_MAX_POSITIONS]:
        assert w.l1(ForcedClose(buyer.index, instrument), sender=buyer.owner).ok
    assert len(w.state.account(INSURANCE_FUND).instruments) == FUND_MAX_POSITIONS
    return held[FUND_MAX_POSITIONS:]


OPTION_EXPIRY = GENESIS_TIME + 86_400 + 8 * 3600  # 2026-01-02T08:00:00Z
CALL, PUT = 10, 11  # the 3000 strike; 12 and 13 are the 3300 strike


def _options(w: World, now: int | None = None) -> None:
    """List an ETH chain (3000 and 3300) and quote it at 80 % vol."""
    assert w.l1(option_chain(CALL, OPTION_EXPIRY, (3000, 3300))).ok
    w.now = w.now + 10 if now is None else now
    assert w.l2(_option_report(w, 3000)).ok


def _option_report(w: World, index_usd: int) -> Tx:
    vols = {i: 800_000 for i in range(CALL, CALL + 4)}
    return w.oracle_update({1: usd(index_usd)}, {1: usd(index_usd)}, vols=vols)


def _sell_call(w: World) -> None:
    a, b = w.traders["alice"], w.traders["bob"]
    m = w.order(a, Side.SELL, usd(120), base(2), CALL, OrderFlags.POST_ONLY)
    t = w.order(b, Side.BUY, usd(120), base(2), CALL)
    assert w.l2(Fill(m, t, base(2))).ok


def _expire(w: World) -> None:
    """On-minute samples in the last 5 minutes, then the expiry's first report."""
    for minute in range(5, 0, -1):
        w.now = OPTION_EXPIRY - 60 * minute
        assert w.l2(_option_report(w, 3040 + minute)).ok
    w.now = OPTION_EXPIRY + 2
    assert w.set_prices(usd(3050)).ok


def _signed_by(w: World, report: OracleUpdate, keys: tuple[bytes, ...]) -> OracleUpdate:
    """``report`` signed by ``keys`` instead of its own signers."""
    digest = oracle_report_digest(
        w.separator, report.timestamp, report.index_prices, report.marks, report.vols
    )
    signatures = tuple(sign_digest(k, digest) for k in keys)
    return OracleUpdate(
        report.timestamp, report.index_prices, report.marks, signatures, report.vols
    )


def oracle_refusals() -> dict[str, Callable[[World], tuple[Tx, Origin, bytes | None]]]:
    """Reports the STF refuses, one rule each: the report's time, its signers, a move
    too far, an entry for the wrong kind of instrument, a vol without its index."""

    def report(w: World, index: int = 3000, mark: int = 3000) -> OracleUpdate:
        w.advance(5)
        return w.oracle_update({1: usd(index)}, {1: usd(mark)})

    def oracle_stale(w: World) -> tuple[Tx, Origin, bytes | None]:
        tx = report(w)
        w.advance(61)  # the staleness bound is 60 s
        return tx, Origin.L2, None

    def oracle_from_the_future(w: World) -> tuple[Tx, Origin, bytes | None]:
        tx = report(w)
        w.advance(-3)
        return tx, Origin.L2, None

    def oracle_not_after_last(w: World) -> tuple[Tx, Origin, bytes | None]:
        tx = report(w)
        w.advance(5)
        assert w.set_prices(usd(3000)).ok
        return tx, Origin.L2, None

    def oracle_foreign_signer(w: World) -> tuple[Tx, Origin, bytes | None]:
        keys = (w.oracle_keys[0], key_from_label("not-an-oracle"))
        return _signed_by(w, report(w), keys), Origin.L2, None

    def oracle_signer_twice(w: World) -> tuple[Tx, Origin, bytes | None]:
        keys = (w.oracle_keys[1], w.oracle_keys[1])
        return _signed_by(w, report(w), keys), Origin.L2, None

    def oracle_under_signed(w: World) -> tuple[Tx, Origin, bytes | None]:
        w.advance(5)
        return w.oracle_update({1: usd(3000)}, {1: usd(3000)}, signers=1), Origin.L2, None

    def oracle_index_too_far(w: World) -> tuple[Tx, Origin, bytes | None]:
        return report(w, index=3301, mark=3000), Origin.L2, None

    def oracle_mark_too_far(w: World) -> tuple[Tx, Origin, bytes | None]:
        return report(w, index=3000, mark=2699), Origin.L2, None

    def oracle_mark_unknown(w: World) -> tuple[Tx, Origin, bytes | None]:
        w.advance(5)
        return w.oracle_update({1: usd(3000)}, {1: usd(3000), 9: usd(3000)}), Origin.L2, None

    def oracle_mark_for_an_option(w: World) -> tuple[Tx, Origin, bytes | None]:
        _options(w)
        w.advance(5)
        return w.oracle_update({1: usd(3000)}, {CALL: usd(120)}), Origin.L2, None

    def oracle_mark_without_index(w: World) -> tuple[Tx, Origin, bytes | None]:
        """A new perpetual (no mark yet) on an asset the oracle never priced."""
        assert w.list_perp(2, "BTC_USDC-PERPETUAL", 2).ok
        w.advance(5)
        return w.oracle_update({1: usd(3000)}, {2: usd(90_000)}), Origin.L2, None

    def oracle_funding_clamped(w: World) -> tuple[Tx, Origin, bytes | None]:
        """An hour of marks 6.7 % under the index: the rate is clamped to the cap."""
        _funding_hour(w, 2800)
        return report(w, index=3000, mark=2800), Origin.L2, None

    def option_vol_for_a_perp(w: World) -> tuple[Tx, Origin, bytes | None]:
        w.advance(5)
        return w.oracle_update({1: usd(3000)}, {}, vols={1: 800_000}), Origin.L2, None

    def option_vol_too_far(w: World) -> tuple[Tx, Origin, bytes | None]:
        _options(w)
        w.advance(5)
        return w.oracle_update({1: usd(3000)}, {}, vols={CALL: 900_000}), Origin.L2, None

    def option_vol_without_index(w: World) -> tuple[Tx, Origin, bytes | None]:
        _options(w)
        w.advance(5)
        return w.oracle_update({2: usd(1)}, {}, vols={CALL: 800_000}), Origin.L2, None

    def option_vol_after_expiry(w: World) -> tuple[Tx, Origin, bytes | None]:
        _options(w, OPTION_EXPIRY - 30)
        w.now = OPTION_EXPIRY + 2
        return _option_report(w, 3000), Origin.L2, None

    return {
        "oracle_stale": oracle_stale,
        "oracle_from_the_future": oracle_from_the_future,
        "oracle_not_after_last": oracle_not_after_last,
        "oracle_foreign_signer": oracle_foreign_signer,
        "oracle_signer_twice": oracle_signer_twice,
        "oracle_under_signed": oracle_under_signed,
        "oracle_index_too_far": oracle_index_too_far,
        "oracle_mark_too_far": oracle_mark_too_far,
        "oracle_mark_unknown": oracle_mark_unknown,
        "oracle_mark_for_an_option": oracle_mark_for_an_option,
        "oracle_mark_without_index": oracle_mark_without_index,
        "oracle_funding_clamped": oracle_funding_clamped,
        "option_vol_for_a_perp": option_vol_for_a_perp,
        "option_vol_too_far": option_vol_too_far,
        "option_vol_without_index": option_vol_without_index,
        "option_vol_after_expiry": option_vol_after_expiry,
    }


def expiry_and_listing_scenarios() -> dict[str, Callable[[World], tuple[Tx, Origin, bytes | None]]]:
    """Listings (accepted and refused at each of their steps), the expiry queue
    (a sample, several expiries fixed by one report), and options expiring inside a
    margin check or an account's settlement, fixed or not yet."""

    def gov_list_perp(w: World) -> tuple[Tx, Origin, bytes | None]:
        spec = perp_spec(2, "BTC_USDC-PERPETUAL", asset=2, tick=100_000, lot=1_000)
        return ListInstrument(spec), Origin.L1, None

    def gov_list_refused(w: World) -> tuple[Tx, Origin, bytes | None]:
        """Instrument 1 is listed already: refused, nothing changes."""
        return ListInstrument(perp_spec(1, "ETH_USDC-PERP2")), Origin.L1, None

    def option_list_refused_time(w: World) -> tuple[Tx, Origin, bytes | None]:
        """An expiry not at 08:00 UTC: refused before the first step."""
        return option_chain(CALL, OPTION_EXPIRY + 3600, (3000,)), Origin.L1, None

    def option_list_refused_risk(w: World) -> tuple[Tx, Origin, bytes | None]:
        """An option listing without an initial-margin floor: refused at its first
        step."""
        chain = option_chain(CALL, OPTION_EXPIRY, (3000,))
        return replace(chain, im_floor_ppm=0), Origin.L1, None

    def option_list_refused_listed(w: World) -> tuple[Tx, Origin, bytes | None]:
        """The chain's second id is instrument 1's: refused at its listing, after the
        expiry joined the queue (the whole tx reverts)."""
        return option_chain(0, OPTION_EXPIRY, (3000,)), Origin.L1, None

    def option_list_second_expiry(w: World) -> tuple[Tx, Origin, bytes | None]:
        """An earlier expiry joins a queue that holds one already (sorted in)."""
        assert w.l1(option_chain(CALL, OPTION_EXPIRY + 86_400, (3000,))).ok
        return option_chain(20, OPTION_EXPIRY, (3000,)), Origin.L1, None

    def option_expiry_sample(w: World) -> tuple[Tx, Origin, bytes | None]:
        """A report on the minute in the last 30 minutes: a settlement sample."""
        _options(w, OPTION_EXPIRY - 400)
        w.now = OPTION_EXPIRY - 300
        return _option_report(w, 3045), Origin.L2, None

    def option_expiry_fix_several(w: World) -> tuple[Tx, Origin, bytes | None]:
        """One report after two expiries fixes both (the first from its samples, the
        second from this index), and the queue moves to the third."""
        _options(w, OPTION_EXPIRY - 400)
        for day in (1, 2):
            assert w.l1(option_chain(20 + 2 * day, OPTION_EXPIRY + day * 86_400, (3000,))).ok
        w.now = OPTION_EXPIRY - 60
        assert w.l2(_option_report(w, 3010)).ok
        w.now = OPTION_EXPIRY + 86_400 + 5
        return w.oracle_update({1: usd(3020)}, {1: usd(3020)}), Origin.L2, None

    def withdraw_after_expiry(w: World) -> tuple[Tx, Origin, bytes | None]:
        """A withdrawal's margin check pays out an expired, fixed call first."""
        _options(w, OPTION_EXPIRY - 400)
        _sell_call(w)
        _expire(w)
        b = w.traders["bob"]
        nonce = w.state.account(b.index).tx_nonce
        tx = w.owner_signed(Withdraw, b, account=b.index, amount=usd(10), nonce=nonce)
        return tx, Origin.L2, None

    def _unfixed(w: World) -> None:
        _options(w, OPTION_EXPIRY - 400)
        _sell_call(w)
        w.now = OPTION_EXPIRY - 30
        assert w.l2(_option_report(w, 3010)).ok

    def _unfixed_withdrawal(w: World, now: int) -> tuple[Tx, Origin, bytes | None]:
        """Bob withdraws at ``now``, after the expiry, before its price is fixed."""
        _unfixed(w)
        w.now = now
        b = w.traders["bob"]
        nonce = w.state.account(b.index).tx_nonce
        tx = w.owner_signed(Withdraw, b, account=b.index, amount=usd(10), nonce=nonce)
        return tx, Origin.L2, None

    def withdraw_before_fix(w: World) -> tuple[Tx, Origin, bytes | None]:
        """Expired but not fixed yet: the call is valued at its last mark."""
        return _unfixed_withdrawal(w, OPTION_EXPIRY + 5)

    def withdraw_before_fix_stale(w: World) -> tuple[Tx, Origin, bytes | None]:
        """Expired, not fixed, and its last mark is stale: refused."""
        return _unfixed_withdrawal(w, OPTION_EXPIRY + 120)

    def settle_before_fix(w: World) -> tuple[Tx, Origin, bytes | None]:
        """An account's settlement pays its perpetual's funding and passes over an
        expired option not fixed yet."""
        _options(w, OPTION_EXPIRY - 4000)
        _open(w)
        _sell_call(w)
        w.now = OPTION_EXPIRY - 3900  # a premium sampled in the hour before the last
        vols = {i: 800_000 for i in range(CALL, CALL + 4)}
        assert w.l2(w.oracle_update({1: usd(3000)}, {1: usd(3003)}, vols=vols)).ok
        w.now = OPTION_EXPIRY - 30  # the next hour's first report applies its funding
        assert w.l2(_option_report(w, 3010)).ok
        w.now = OPTION_EXPIRY + 5
        return SettleAccount(w.traders["alice"].index), Origin.L2, None

    def settle_sweeps_dust(w: World) -> tuple[Tx, Origin, bytes | None]:
        """The last holder of an expired call settles (the long was paid): the pool's
        rounding dust goes to the insurance fund."""
        _options(w, OPTION_EXPIRY - 400)
        a, b = w.traders["alice"], w.traders["bob"]
        size = 101_000_000  # 1.01: the payoff is not a whole number of quote units
        m = w.order(a, Side.SELL, usd(120), size, CALL, OrderFlags.POST_ONLY)
        assert w.l2(Fill(m, w.order(b, Side.BUY, usd(120), size, CALL), size)).ok
        for minute, index in ((3, 3041), (2, 3042), (1, 3044)):
            w.now = OPTION_EXPIRY - 60 * minute
            assert w.l2(_option_report(w, index)).ok
        w.now = OPTION_EXPIRY + 2
        assert w.set_prices(usd(3050)).ok
        assert w.l2(SettleAccount(b.index)).ok
        return SettleAccount(a.index), Origin.L2, None

    def settle_fund_sweeps_dust(w: World) -> tuple[Tx, Origin, bytes | None]:
        """As above with the insurance fund holding the short (as after a backstop):
        the dust it sweeps is its own."""
        tx, origin, sender = settle_sweeps_dust(w)
        a = w.traders["alice"]
        assert isinstance(tx, SettleAccount)
        position = w.state.position(a.index, CALL)
        alice = w.state.account(a.index)
        fund = w.state.account(INSURANCE_FUND)
        w.state.delete(position_key(a.index, CALL))
        w.state.put(position_key(INSURANCE_FUND, CALL), position)
        w.state.put(account_key(a.index), alice._replace(instruments=()))
        w.state.put(account_key(INSURANCE_FUND), fund._replace(instruments=(CALL,)))
        return SettleAccount(INSURANCE_FUND), origin, sender

    return {
        "settle_sweeps_dust": settle_sweeps_dust,
        "settle_fund_sweeps_dust": settle_fund_sweeps_dust,
        "gov_list_perp": gov_list_perp,
        "gov_list_refused": gov_list_refused,
        "option_list_refused_time": option_list_refused_time,
        "option_list_refused_risk": option_list_refused_risk,
        "option_list_refused_listed": option_list_refused_listed,
        "option_list_second_expiry": option_list_second_expiry,
        "option_expiry_sample": option_expiry_sample,
        "option_expiry_fix_several": option_expiry_fix_several,
        "withdraw_after_expiry": withdraw_after_expiry,
        "withdraw_before_fix": withdraw_before_fix,
        "withdraw_before_fix_stale": withdraw_before_fix_stale,
        "settle_before_fix": settle_before_fix,
    }


def _underwater(w: World, prices: tuple[int, ...]) -> None:
    """Bob long 60 ETH-PERP at 3000 against Alice, then the mark walks down."""
    a, b = w.traders["alice"], w.traders["bob"]
    m = w.order(a, Side.SELL, usd(3000), base(60))
    assert w.l2(Fill(m, w.order(b, Side.BUY, usd(3000), base(60)), base(60))).ok
    for price in prices:
        w.advance(5)
        assert w.set_prices(usd(price)).ok


def liquidation_cases() -> dict[str, Callable[[World], tuple[Tx, Origin, bytes | None]]]:
    """Liquidations, backstops and forced closes the STF refuses, one rule each, and
    the bad-debt paths (the fund covers; an already bankrupt account closed at mark)."""

    def liquidate_not_liquidatable(w: World) -> tuple[Tx, Origin, bytes | None]:
        _open(w)
        a, b = w.traders["alice"], w.traders["bob"]
        return (
            Liquidate(b.index, w.order(a, Side.BUY, usd(3000), base(1)), base(1)),
            Origin.L2,
            None,
        )

    def _liquidate_bob(w: World, maker: str, price: int) -> tuple[Tx, Origin, bytes | None]:
        """Bob, underwater at mark 2850, liquidated for 10 against ``maker``'s buy."""
        _underwater(w, (2900, 2850))
        order = w.order(w.traders[maker], Side.BUY, usd(price), base(10))
        return Liquidate(w.traders["bob"].index, order, base(10)), Origin.L2, None

    def liquidate_own_order(w: World) -> tuple[Tx, Origin, bytes | None]:
        return _liquidate_bob(w, "bob", 2850)

    def liquidate_outside_band(w: World) -> tuple[Tx, Origin, bytes | None]:
        """A sell more than 5 % under the mark of 2850."""
        return _liquidate_bob(w, "alice", 2700)

    def liquidate_beyond_bankruptcy(w: World) -> tuple[Tx, Origin, bytes | None]:
        """Equity 1,000 at mark 2850; selling 10 at 2710 would leave it at -400."""
        return _liquidate_bob(w, "alice", 2710)

    def liquidate_bankrupt_covered(w: World) -> tuple[Tx, Origin, bytes | None]:
        """Equity -800 at mark 2820: the whole position closes at mark, and the flat
        account's debt goes to the fund (which has 500) and the other side."""
        fund = w.state.account(0)
        w.state.put(account_key(0), fund._replace(balance=usd(500)))
        _underwater(w, (2900, 2820))
        a, b = w.traders["alice"], w.traders["bob"]
        return (
            Liquidate(b.index, w.order(a, Side.BUY, usd(2820), base(60)), base(60)),
            Origin.L2,
            None,
        )

    def liquidate_flips(w: World) -> tuple[Tx, Origin, bytes | None]:
        """Selling 70 of a 60 long would flip it: the liquidated side only reduces."""
        _underwater(w, (2900, 2850))
        a, b = w.traders["alice"], w.traders["bob"]
        maker = w.order(a, Side.BUY, usd(2850), base(70))
        return Liquidate(b.index, maker, base(70)), Origin.L2, None

    def liquidate_maker_short_of_margin(w: World) -> tuple[Tx, Origin, bytes | None]:
        """A maker with 100 USDC buying 10 ETH at 2850 fails its initial margin."""
        _underwater(w, (2900, 2850))
        c = w.add_trader("carol", 100)
        maker = w.order(c, Side.BUY, usd(2850), base(10))
        return Liquidate(w.traders["bob"].index, maker, base(10)), Origin.L2, None

    def backstop_not_liquidatable(w: World) -> tuple[Tx, Origin, bytes | None]:
        _underwater(w, (2900,))
        return Backstop(w.traders["bob"].index, 1), Origin.L2, None

    def backstop_no_position(w: World) -> tuple[Tx, Origin, bytes | None]:
        _underwater(w, (2900, 2800, 2780))
        return Backstop(w.traders["bob"].index, 2), Origin.L2, None

    def backstop_fund_covers(w: World) -> tuple[Tx, Origin, bytes | None]:
        """The fund has 10,000: it pays the whole deficit, nothing is socialised."""
        fund = w.state.account(0)
        w.state.put(account_key(0), fund._replace(balance=usd(10_000)))
        _underwater(w, (2900, 2800, 2780))
        return Backstop(w.traders["bob"].index, 1), Origin.L2, None

    def backstop_the_fund(w: World) -> tuple[Tx, Origin, bytes | None]:
        return Backstop(0, 1), Origin.L2, None

    def forced_close_not_owner(w: World) -> tuple[Tx, Origin, bytes | None]:
        _open(w)
        a, b = w.traders["alice"], w.traders["bob"]
        return ForcedClose(a.index, 1), Origin.L1, b.owner

    def forced_close_from_l2(w: World) -> tuple[Tx, Origin, bytes | None]:
        _open(w)
        return ForcedClose(w.traders["alice"].index, 1), Origin.L2, None

    def forced_close_stale_mark(w: World) -> tuple[Tx, Origin, bytes | None]:
        _open(w)
        a = w.traders["alice"]
        w.advance(61)  # the staleness bound is 60 s
        return ForcedClose(a.index, 1), Origin.L1, a.owner

    return {
        "liquidate_not_liquidatable": liquidate_not_liquidatable,
        "liquidate_own_order": liquidate_own_order,
        "liquidate_outside_band": liquidate_outside_band,
        "liquidate_beyond_bankruptcy": liquidate_beyond_bankruptcy,
        "liquidate_bankrupt_covered": liquidate_bankrupt_covered,
        "liquidate_flips": liquidate_flips,
        "liquidate_maker_short_of_margin": liquidate_maker_short_of_margin,
        "backstop_not_liquidatable": backstop_not_liquidatable,
        "backstop_no_position": backstop_no_position,
        "backstop_fund_covers": backstop_fund_covers,
        "backstop_the_fund": backstop_the_fund,
        "forced_close_not_owner": forced_close_not_owner,
        "forced_close_from_l2": forced_close_from_l2,
        "forced_close_stale_mark": forced_close_stale_mark,
    }


def _portfolio(w: World, name: str, nonce: int = 1) -> None:
    """Switch trader ``name`` to portfolio margin."""
    t = w.traders[name]
    assert w.l2(w.owner_signed(SetMarginMode, t, account=t.index, portfolio=True, nonce=nonce)).ok


def _portfolio_long(w: World, prices: tuple[int, ...]) -> None:
    """Bob, in portfolio margin, long 8 ETH-PERP at 3000 against Alice (IM: 30 % down
    × 1.3 = 9,360 of his 10,000), then the mark walks down."""
    _portfolio(w, "bob")
    a, b = w.traders["alice"], w.traders["bob"]
    m = w.order(a, Side.SELL, usd(3000), base(8))
    assert w.l2(Fill(m, w.order(b, Side.BUY, usd(3000), base(8)), base(8))).ok
    for price in prices:
        w.advance(5)
        assert w.set_prices(usd(price)).ok


def portfolio_cases() -> dict[str, Callable[[World], tuple[Tx, Origin, bytes | None]]]:
    """Portfolio-margin accounts' checks (Deribit-style scenario margin,
    :mod:`rollbook.exchange.portfolio_margin`): a withdrawal with an option and a
    perpetual on one asset, allowed and refused; a trade that only reduces risk below
    IM, allowed and refused; a liquidation and a refused backstop (health checks)."""

    def _short_call_and_perp(w: World) -> None:
        _options(w)
        _sell_call(w)
        _open(w)
        _portfolio(w, "alice")

    def portfolio_withdraw(w: World) -> tuple[Tx, Origin, bytes | None]:
        _short_call_and_perp(w)
        a = w.traders["alice"]
        tx = w.owner_signed(Withdraw, a, account=a.index, amount=usd(100), nonce=2)
        return tx, Origin.L2, None

    def portfolio_withdraw_too_much(w: World) -> tuple[Tx, Origin, bytes | None]:
        """Equity 10,124, IM 3,399: 9,000 more than the free collateral allows."""
        _short_call_and_perp(w)
        a = w.traders["alice"]
        tx = w.owner_signed(Withdraw, a, account=a.index, amount=usd(9000), nonce=2)
        return tx, Origin.L2, None

    def portfolio_fill_reduces(w: World) -> tuple[Tx, Origin, bytes | None]:
        """At 2800 Bob is below IM (8,388 < 8,736); selling 0.1 at the mark leaves him
        below it (8,627) but only reduces risk."""
        _portfolio_long(w, (2900, 2800))
        a, b = w.traders["alice"], w.traders["bob"]
        m = w.order(a, Side.BUY, usd(2800), base(1, 1))
        return Fill(m, w.order(b, Side.SELL, usd(2800), base(1, 1)), base(1, 1)), Origin.L2, None

    def portfolio_fill_reduces_at_a_loss(w: World) -> tuple[Tx, Origin, bytes | None]:
        """The same sale at 1700: his equity/MM would fall."""
        _portfolio_long(w, (2900, 2800))
        a, b = w.traders["alice"], w.traders["bob"]
        m = w.order(a, Side.BUY, usd(1700), base(1, 1))
        return Fill(m, w.order(b, Side.SELL, usd(1700), base(1, 1)), base(1, 1)), Origin.L2, None

    def portfolio_liquidate(w: World) -> tuple[Tx, Origin, bytes | None]:
        """At 2400 Bob's equity (5,188) is below his portfolio MM (5,760)."""
        _portfolio_long(w, (2900, 2800, 2700, 2600, 2500, 2400))
        a, b = w.traders["alice"], w.traders["bob"]
        return (
            Liquidate(b.index, w.order(a, Side.BUY, usd(2400), base(2)), base(2)),
            Origin.L2,
            None,
        )

    def portfolio_backstop_refused(w: World) -> tuple[Tx, Origin, bytes | None]:
        """Liquidatable, but not below the backstop threshold (half the MM)."""
        _portfolio_long(w, (2900, 2800, 2700, 2600, 2500, 2400))
        return Backstop(w.traders["bob"].index, 1), Origin.L2, None

    return {
        "portfolio_withdraw": portfolio_withdraw,
        "portfolio_withdraw_too_much": portfolio_withdraw_too_much,
        "portfolio_fill_reduces": portfolio_fill_reduces,
        "portfolio_fill_reduces_at_a_loss": portfolio_fill_reduces_at_a_loss,
        "portfolio_liquidate": portfolio_liquidate,
        "portfolio_backstop_refused": portfolio_backstop_refused,
    }


def scenarios() -> dict[str, Callable[[World], tuple[Tx, Origin, bytes | None]]]:
    """name -> a function that prepares the world and returns the tx to vectorise."""

    def fill_open(w: World) -> tuple[Tx, Origin, bytes | None]:
        a, b = w.traders["alice"], w.traders["bob"]
        m = w.order(a, Side.SELL, usd(3000), base(2))
        t = w.order(b, Side.BUY, usd(3001), base(1))
        return Fill(m, t, base(1)), Origin.L2, None

    def fill_second_use(w: World) -> tuple[Tx, Origin, bytes | None]:
        a, b = w.traders["alice"], w.traders["bob"]
        m = w.order(a, Side.SELL, usd(3000), base(2))
        assert w.l2(Fill(m, w.order(b, Side.BUY, usd(3000), base(1)), base(1))).ok
        return Fill(m, w.order(b, Side.BUY, usd(3000), base(1)), base(1)), Origin.L2, None

    def fill_overfill(w: World) -> tuple[Tx, Origin, bytes | None]:
        a, b = w.traders["alice"], w.traders["bob"]
        m = w.order(a, Side.SELL, usd(3000), base(1))
        return Fill(m, w.order(b, Side.BUY, usd(3000), base(2)), base(2)), Origin.L2, None

    def fill_fee_above_max(w: World) -> tuple[Tx, Origin, bytes | None]:
        a, b = w.traders["alice"], w.traders["bob"]
        m = w.order(a, Side.SELL, usd(3000), base(1))
        t = w.order(b, Side.BUY, usd(3000), base(1), max_fee_ppm=100)
        return Fill(m, t, base(1)), Origin.L2, None

    def fill_post_only_taker(w: World) -> tuple[Tx, Origin, bytes | None]:
        a, b = w.traders["alice"], w.traders["bob"]
        m = w.order(a, Side.SELL, usd(3000), base(1))
        t = w.order(b, Side.BUY, usd(3000), base(1), flags=OrderFlags.POST_ONLY)
        return Fill(m, t, base(1)), Origin.L2, None

    def fill_margin_rejected(w: World) -> tuple[Tx, Origin, bytes | None]:
        a, b = w.traders["alice"], w.traders["bob"]
        m = w.order(a, Side.SELL, usd(3000), base(100))
        t = w.order(b, Side.BUY, usd(3000), base(100))
        return Fill(m, t, base(100)), Origin.L2, None

    def fill_close(w: World) -> tuple[Tx, Origin, bytes | None]:
        _open(w)
        a, b = w.traders["alice"], w.traders["bob"]
        w.advance(5)
        w.set_prices(usd(3100))
        m = w.order(a, Side.BUY, usd(3100), base(1), flags=OrderFlags.REDUCE_ONLY)
        return Fill(m, w.order(b, Side.SELL, usd(3100), base(1)), base(1)), Origin.L2, None

    def fill_self_trade(w: World) -> tuple[Tx, Origin, bytes | None]:
        a = w.traders["alice"]
        m = w.order(a, Side.SELL, usd(3000), base(1))
        return Fill(m, w.order(a, Side.BUY, usd(3000), base(1)), base(1)), Origin.L2, None

    def fill_off_grid(w: World) -> tuple[Tx, Origin, bytes | None]:
        a, b = w.traders["alice"], w.traders["bob"]
        m = w.order(a, Side.SELL, usd(3000) + 1, base(1))
        return Fill(m, w.order(b, Side.BUY, usd(3001), base(1)), base(1)), Origin.L2, None

    def fill_beyond_taker_limit(w: World) -> tuple[Tx, Origin, bytes | None]:
        a, b = w.traders["alice"], w.traders["bob"]
        m = w.order(a, Side.SELL, usd(3001), base(1))
        return Fill(m, w.order(b, Side.BUY, usd(3000), base(1)), base(1)), Origin.L2, None

    def fill_inactive_instrument(w: World) -> tuple[Tx, Origin, bytes | None]:
        params = SetInstrumentParams(1, 50_000, 30_000, 100, 500, 10_000, 5_000, 10**15, False)
        assert w.l1(params).ok
        a, b = w.traders["alice"], w.traders["bob"]
        m = w.order(a, Side.SELL, usd(3000), base(1))
        return Fill(m, w.order(b, Side.BUY, usd(3000), base(1)), base(1)), Origin.L2, None

    def fill_expired_order(w: World) -> tuple[Tx, Origin, bytes | None]:
        a, b = w.traders["alice"], w.traders["bob"]
        m = w.order(a, Side.SELL, usd(3000), base(1), expiry=w.now - 1)
        return Fill(m, w.order(b, Side.BUY, usd(3000), base(1)), base(1)), Origin.L2, None

    def fill_bad_signature(w: World) -> tuple[Tx, Origin, bytes | None]:
        """Bob's order signed by Alice's trading key."""
        a, b = w.traders["alice"], w.traders["bob"]
        m = w.order(a, Side.SELL, usd(3000), base(1))
        t = w.order(b, Side.BUY, usd(3000), base(1))
        forged = sign_order(t.order, a.trading_key, w.separator)
        return Fill(m, forged, base(1)), Origin.L2, None

    def fill_slot_conflict(w: World) -> tuple[Tx, Origin, bytes | None]:
        """A second order in a slot whose nonce another order already took."""
        a, b = w.traders["alice"], w.traders["bob"]
        first = w.order(a, Side.SELL, usd(3000), base(2), slot=7, nonce=9)
        assert w.l2(Fill(first, w.order(b, Side.BUY, usd(3000), base(1)), base(1))).ok
        m = w.order(a, Side.SELL, usd(3050), base(1), slot=7, nonce=9)
        return Fill(m, w.order(b, Side.BUY, usd(3050), base(1)), base(1)), Origin.L2, None

    def fill_reduce_only_violation(w: World) -> tuple[Tx, Origin, bytes | None]:
        """A reduce-only taker with no position to reduce."""
        a, b = w.traders["alice"], w.traders["bob"]
        m = w.order(a, Side.SELL, usd(3000), base(1))
        t = w.order(b, Side.BUY, usd(3000), base(1), flags=OrderFlags.REDUCE_ONLY)
        return Fill(m, t, base(1)), Origin.L2, None

    def fill_position_limit(w: World) -> tuple[Tx, Origin, bytes | None]:
        """One position per account, and a second instrument."""
        _open(w)
        assert w.l1(SetRiskParams(1, 7 * 86_400, 40_000, 400_000)).ok
        assert w.list_perp(2, "BTC_USDC-PERPETUAL", 2).ok
        a, b = w.traders["alice"], w.traders["bob"]
        m = w.order(a, Side.SELL, usd(60_000), base(1), instrument=2)
        t = w.order(b, Side.BUY, usd(60_000), base(1), instrument=2)
        return Fill(m, t, base(1)), Origin.L2, None

    def fill_open_interest_limit(w: World) -> tuple[Tx, Origin, bytes | None]:
        params = SetInstrumentParams(1, 50_000, 30_000, 100, 500, 10_000, 5_000, base(1) // 2, True)
        assert w.l1(params).ok
        a, b = w.traders["alice"], w.traders["bob"]
        m = w.order(a, Side.SELL, usd(3000), base(1))
        return Fill(m, w.order(b, Side.BUY, usd(3000), base(1)), base(1)), Origin.L2, None

    def fill_unknown_account(w: World) -> tuple[Tx, Origin, bytes | None]:
        a, b = w.traders["alice"], w.traders["bob"]
        m = w.order(a, Side.SELL, usd(3000), base(1))
        t = w.order(b, Side.BUY, usd(3000), base(1))
        ghost = sign_order(replace(t.order, account=99), b.trading_key, w.separator)
        return Fill(m, ghost, base(1)), Origin.L2, None

    def fill_cancelled_by_floor(w: World) -> tuple[Tx, Origin, bytes | None]:
        a, b = w.traders["alice"], w.traders["bob"]
        assert w.l2(w.owner_signed(NonceFloor, a, account=a.index, floor=50)).ok
        m = w.order(a, Side.SELL, usd(3000), base(1), nonce=49)
        return Fill(m, w.order(b, Side.BUY, usd(3000), base(1)), base(1)), Origin.L2, None

    def fill_close_settles_funding(w: World) -> tuple[Tx, Origin, bytes | None]:
        """Both sides close after a funding hour: each pays or is paid as it trades."""
        _funding_hour(w, 3003)
        assert w.set_prices(usd(3000), usd(3003)).ok
        a, b = w.traders["alice"], w.traders["bob"]
        m = w.order(a, Side.BUY, usd(3000), base(1))
        return Fill(m, w.order(b, Side.SELL, usd(3000), base(1)), base(1)), Origin.L2, None

    def fill_close_sweeps_pool(w: World) -> tuple[Tx, Origin, bytes | None]:
        """The last positions close: the pool's rounding dust goes to the insurance
        fund (the dust is put in the pool directly, as rounding leaves it)."""
        _open(w)
        instrument = w.state.instrument(1)
        w.state.put(instrument_key(1), instrument._replace(pool=3))
        a, b = w.traders["alice"], w.traders["bob"]
        m = w.order(a, Side.BUY, usd(3000), base(1))
        return Fill(m, w.order(b, Side.SELL, usd(3000), base(1)), base(1)), Origin.L2, None

    def _below_initial_margin(w: World) -> None:
        """Bob long 60 from 3000, the mark at 2850: below IM, above MM."""
        a, b = w.traders["alice"], w.traders["bob"]
        m = w.order(a, Side.SELL, usd(3000), base(60))
        assert w.l2(Fill(m, w.order(b, Side.BUY, usd(3000), base(60)), base(60))).ok
        for price in (2900, 2850):
            w.advance(5)
            assert w.set_prices(usd(price)).ok

    def fill_reduces_below_margin(w: World) -> tuple[Tx, Origin, bytes | None]:
        """Below IM, Bob sells 10 at the mark: it only reduces risk (dYdX v4's rule)."""
        _below_initial_margin(w)
        a, b = w.traders["alice"], w.traders["bob"]
        m = w.order(a, Side.BUY, usd(2850), base(10))
        return Fill(m, w.order(b, Side.SELL, usd(2850), base(10)), base(10)), Origin.L2, None

    def fill_reduces_at_a_loss(w: World) -> tuple[Tx, Origin, bytes | None]:
        """Below IM, Bob sells 10 far under the mark: his free collateral would fall."""
        _below_initial_margin(w)
        a, b = w.traders["alice"], w.traders["bob"]
        m = w.order(a, Side.BUY, usd(2500), base(10))
        return Fill(m, w.order(b, Side.SELL, usd(2500), base(10)), base(10)), Origin.L2, None

    def withdraw_free(w: World) -> tuple[Tx, Origin, bytes | None]:
        a = w.traders["alice"]
        return (
            w.owner_signed(Withdraw, a, account=a.index, amount=usd(100), nonce=1),
            Origin.L2,
            None,
        )

    def withdraw_forced(w: World) -> tuple[Tx, Origin, bytes | None]:
        a = w.traders["alice"]
        return Withdraw(a.index, usd(100), 0), Origin.L1, a.owner

    def withdraw_too_much(w: World) -> tuple[Tx, Origin, bytes | None]:
        _open(w)
        a = w.traders["alice"]
        return (
            w.owner_signed(Withdraw, a, account=a.index, amount=usd(9_900), nonce=1),
            Origin.L2,
            None,
        )

    def transfer(w: World) -> tuple[Tx, Origin, bytes | None]:
        a, b = w.traders["alice"], w.traders["bob"]
        tx = w.owner_signed(
            Transfer, a, sender=a.index, recipient=b.index, amount=usd(250), nonce=1
        )
        return tx, Origin.L2, None

    def revoke_key(w: World) -> tuple[Tx, Origin, bytes | None]:
        a = w.traders["alice"]
        return w.owner_signed(RevokeKey, a, account=a.index, key_index=0, nonce=1), Origin.L2, None

    def nonce_floor(w: World) -> tuple[Tx, Origin, bytes | None]:
        a = w.traders["alice"]
        return w.owner_signed(NonceFloor, a, account=a.index, floor=50), Origin.L2, None

    def oracle_funding_hour(w: World) -> tuple[Tx, Origin, bytes | None]:
        _funding_hour(w, 3003)
        return w.oracle_update({1: usd(3000)}, {1: usd(3003)}), Origin.L2, None

    def settle_funding(w: World) -> tuple[Tx, Origin, bytes | None]:
        _funding_hour(w, 3003)
        assert w.set_prices(usd(3000), usd(3003)).ok
        return SettleAccount(w.traders["bob"].index), Origin.L2, None

    def withdraw_pays_funding(w: World) -> tuple[Tx, Origin, bytes | None]:
        """A withdrawal's margin check settles the funding its position owes."""
        _funding_hour(w, 3003)
        assert w.set_prices(usd(3000), usd(3003)).ok
        b = w.traders["bob"]
        nonce = w.state.account(b.index).tx_nonce
        return (
            w.owner_signed(Withdraw, b, account=b.index, amount=usd(10), nonce=nonce),
            Origin.L2,
            None,
        )

    def settle_covers_deficit(w: World) -> tuple[Tx, Origin, bytes | None]:
        """A flat account that owes (as an option payout can leave it) is set to zero
        by the insurance fund when it is settled."""
        c = w.add_trader("carol", 1)
        account = w.state.account(c.index)
        w.state.put(account_key(c.index), account._replace(balance=-usd(7)))
        return SettleAccount(c.index), Origin.L2, None

    def liquidate(w: World) -> tuple[Tx, Origin, bytes | None]:
        a, b = w.traders["alice"], w.traders["bob"]
        m = w.order(a, Side.SELL, usd(3000), base(60))
        assert w.l2(Fill(m, w.order(b, Side.BUY, usd(3000), base(60)), base(60))).ok
        for price in (2900, 2850):
            w.advance(5)
            assert w.set_prices(usd(price)).ok
        maker = w.order(a, Side.BUY, usd(2850), base(10))
        return Liquidate(b.index, maker, base(10)), Origin.L2, None

    def backstop(w: World) -> tuple[Tx, Origin, bytes | None]:
        a, b = w.traders["alice"], w.traders["bob"]
        m = w.order(a, Side.SELL, usd(3000), base(60))
        assert w.l2(Fill(m, w.order(b, Side.BUY, usd(3000), base(60)), base(60))).ok
        for price in (2900, 2800, 2780):
            w.advance(5)
            assert w.set_prices(usd(price)).ok
        return Backstop(b.index, 1), Origin.L2, None

    def forced_close(w: World) -> tuple[Tx, Origin, bytes | None]:
        _open(w)
        a = w.traders["alice"]
        w.advance(5)
        assert w.set_prices(usd(3050)).ok
        return ForcedClose(a.index, 1), Origin.L1, a.owner

    def forced_close_fund_full(w: World) -> tuple[Tx, Origin, bytes | None]:
        """The insurance fund holds its most positions: one more is refused."""
        buyer, instrument = fill_the_fund(w)[0]
        return ForcedClose(buyer.index, instrument), Origin.L1, buyer.owner

    def gov_risk_params(w: World) -> tuple[Tx, Origin, bytes | None]:
        return SetRiskParams(16, 7 * 86_400, 40_000, 400_000), Origin.L1, None

    def gov_risk_refused(w: World) -> tuple[Tx, Origin, bytes | None]:
        """A position bound beyond what the fraud-proof executor can prove: refused."""
        return SetRiskParams(33, 7 * 86_400, 40_000, 400_000), Origin.L1, None

    def gov_oracle_rotation(w: World) -> tuple[Tx, Origin, bytes | None]:
        signers = (bytes([0xA1]) * 20, bytes([0xB2]) * 20, bytes([0xC3]) * 20)
        return SetOracle(signers, 2, 90, 50_000), Origin.L1, None

    def gov_oracle_refused(w: World) -> tuple[Tx, Origin, bytes | None]:
        """A threshold above the set's size: refused, nothing changes."""
        return SetOracle((bytes([0xA1]) * 20,), 2, 90, 50_000), Origin.L1, None

    def gov_params_change(w: World) -> tuple[Tx, Origin, bytes | None]:
        return (
            SetInstrumentParams(1, 80_000, 40_000, 100, 600, 5_000, 2_000, 10**14, False),
            (Origin.L1),
            None,
        )

    def gov_params_refused(w: World) -> tuple[Tx, Origin, bytes | None]:
        """Maintenance above initial margin: refused, nothing changes."""
        return SetInstrumentParams(1, 40_000, 80_000, 0, 0, 0, 0, 10**15, True), Origin.L1, None

    def governance_from_l2(w: World) -> tuple[Tx, Origin, bytes | None]:
        return SetInstrumentParams(1, 60_000, 30_000, 0, 0, 0, 0, 10**15, True), Origin.L2, None

    def option_list_chain(w: World) -> tuple[Tx, Origin, bytes | None]:
        return option_chain(CALL, OPTION_EXPIRY, (3000, 3300)), Origin.L1, None

    def option_oracle_marks(w: World) -> tuple[Tx, Origin, bytes | None]:
        assert w.l1(option_chain(CALL, OPTION_EXPIRY, (3000, 3300))).ok
        w.advance(10)
        return _option_report(w, 3000), Origin.L2, None

    def option_fill(w: World) -> tuple[Tx, Origin, bytes | None]:
        _options(w)
        a, b = w.traders["alice"], w.traders["bob"]
        m = w.order(a, Side.SELL, usd(120), base(2), CALL, OrderFlags.POST_ONLY)
        t = w.order(b, Side.BUY, usd(125), base(1), CALL)
        return Fill(m, t, base(1)), Origin.L2, None

    def option_expiry_fix(w: World) -> tuple[Tx, Origin, bytes | None]:
        _options(w, OPTION_EXPIRY - 400)
        _sell_call(w)
        for minute in range(5, 0, -1):
            w.now = OPTION_EXPIRY - 60 * minute
            assert w.l2(_option_report(w, 3040 + minute)).ok
        w.now = OPTION_EXPIRY + 2
        return w.oracle_update({1: usd(3050)}, {1: usd(3050)}), Origin.L2, None

    def option_settle(w: World) -> tuple[Tx, Origin, bytes | None]:
        _options(w, OPTION_EXPIRY - 400)
        _sell_call(w)
        _expire(w)
        return SettleAccount(w.traders["alice"].index), Origin.L2, None

    def margin_mode_portfolio(w: World) -> tuple[Tx, Origin, bytes | None]:
        _options(w)
        _sell_call(w)
        a = w.traders["alice"]
        tx = w.owner_signed(SetMarginMode, a, account=a.index, portfolio=True, nonce=1)
        return tx, Origin.L2, None

    return {
        "option_list_chain": option_list_chain,
        "option_oracle_marks": option_oracle_marks,
        "option_fill": option_fill,
        "option_expiry_fix": option_expiry_fix,
        "option_settle": option_settle,
        "margin_mode_portfolio": margin_mode_portfolio,
        "fill_open": fill_open,
        "fill_second_use": fill_second_use,
        "fill_overfill": fill_overfill,
        "fill_fee_above_max": fill_fee_above_max,
        "fill_post_only_taker": fill_post_only_taker,
        "fill_margin_rejected": fill_margin_rejected,
        "fill_close": fill_close,
        "fill_self_trade": fill_self_trade,
        "fill_off_grid": fill_off_grid,
        "fill_beyond_taker_limit": fill_beyond_taker_limit,
        "fill_inactive_instrument": fill_inactive_instrument,
        "fill_expired_order": fill_expired_order,
        "fill_bad_signature": fill_bad_signature,
        "fill_slot_conflict": fill_slot_conflict,
        "fill_reduce_only_violation": fill_reduce_only_violation,
        "fill_position_limit": fill_position_limit,
        "fill_open_interest_limit": fill_open_interest_limit,
        "fill_reduces_below_margin": fill_reduces_below_margin,
        "fill_reduces_at_a_loss": fill_reduces_at_a_loss,
        "fill_unknown_account": fill_unknown_account,
        "fill_cancelled_by_floor": fill_cancelled_by_floor,
        "fill_close_settles_funding": fill_close_settles_funding,
        "fill_close_sweeps_pool": fill_close_sweeps_pool,
        "withdraw_free": withdraw_free,
        "withdraw_forced": withdraw_forced,
        "withdraw_too_much": withdraw_too_much,
        "transfer": transfer,
        "revoke_key": revoke_key,
        "nonce_floor": nonce_floor,
        "oracle_funding_hour": oracle_funding_hour,
        "settle_funding": settle_funding,
        "withdraw_pays_funding": withdraw_pays_funding,
        "settle_covers_deficit": settle_covers_deficit,
        "liquidate": liquidate,
        "backstop": backstop,
        "forced_close": forced_close,
        "governance_from_l2": governance_from_l2,
        "forced_close_fund_full": forced_close_fund_full,
        "gov_risk_params": gov_risk_params,
        "gov_risk_refused": gov_risk_refused,
        "gov_oracle_rotation": gov_oracle_rotation,
        "gov_oracle_refused": gov_oracle_refused,
        "gov_params_change": gov_params_change,
        "gov_params_refused": gov_params_refused,
        **oracle_refusals(),
        **expiry_and_listing_scenarios(),
        **liquidation_cases(),
        **portfolio_cases(),
    }


def scenario_trace(name: str, l1_block: int = 1) -> tuple[BlockTrace, bytes]:
    """Scenario ``name``'s tx in a block of its own on the vectors' pre-state, traced
    step by step (:mod:`rollbook.chain.trace`); returns the trace and the domain
    separator. The block's L1 origin is ``l1_block`` and its parent's the one before,
    so an L1 tx is the input queue's first entry, from L1 block ``l1_block``. The
    one-step executor is tested and measured on these."""
    return trace_of(scenarios()[name], l1_block)


def trace_of(scenario: Scenario, l1_block: int = 1) -> tuple[BlockTrace, bytes]:
    """:func:`scenario_trace` of any scenario (one not pinned as a vector, too)."""
    world = _base_world()
    tx, origin, sender = scenario(world)
    return world_trace(world, tx, origin, sender, l1_block), world.separator


def world_trace(
    world: World, tx: Tx, origin: Origin, sender: bytes | None = None, l1_block: int = 1
) -> BlockTrace:
    """``tx`` in a block of its own at ``world.now`` on the world's state, traced (the
    world's state moves on to the block's post-state), with L1 origin ``l1_block`` (its
    parent's the one before: an L1 tx is the input queue's first entry)."""
    cfg = ChainConfig(chain_id=901, domain_separator=world.separator)
    parent = genesis_block(world.state, L1Ref(l1_block - 1, bytes(32), world.now - 72))
    ref = L1Ref(l1_block, bytes(32), world.now - 60)
    pre = world.state.copy()
    item = BlockTx(tx, origin, sender)
    l1_txs, sequenced = ([item], []) if origin is Origin.L1 else ([], [tx])
    # The block as L1 holds it: the inbox's first batch (an L2 tx a batch may not carry
    # is an unreadable item there).
    block = build_batched_block(world.state, parent.header, ref, world.now, l1_txs, sequenced, cfg)
    return trace_block(pre, parent.header, block, world.separator)


def step_json(step: StepWitness) -> dict[str, Any]:
    """A step witness: roots, carried values, reads and writes with encoded proofs, and
    the step's aux witness when it has one (a portfolio margin check's lanes)."""
    extra = {"aux": "0x" + step.aux.hex()} if step.aux else {}
    return {
        **extra,
        "index": step.index,
        "name": step.name,
        "declared": [to_json(list(k)) for k in step.declared],
        "pre_root": "0x" + step.pre_root.hex(),
        "post_root": "0x" + step.post_root.hex(),
        "carry": list(step.carry),
        "failed": step.failed,
        "pre_withdrawals": "0x" + step.pre_withdrawals.hex(),
        "post_withdrawals": "0x" + step.post_withdrawals.hex(),
        "reads": [
            {
                "key": to_json(list(r.key)),
                "path": "0x" + leaf_path(r.key).hex(),
                "leaf": to_json(r.leaf),
                "proof": "0x" + r.proof.encode().hex(),
            }
            for r in step.reads
        ],
        "writes": [
            {
                "key": to_json(list(w.key)),
                "old": to_json(w.old),
                "new": to_json(w.new),
                "proof": "0x" + w.proof.encode().hex(),
            }
            for w in step.writes
        ],
        "withdrawal_writes": [
            {"key": to_json(list(w.key)), "proof": "0x" + w.proof.encode().hex()}
            for w in step.withdrawal_writes
        ],
    }


def build_vector(name: str, scenario: Scenario) -> dict[str, Any]:
    """Run one scenario and return its vector, with the tx's codec encoding and a
    witness per step (#4: what the one-step executor of #7 and the circuits of #8
    check)."""
    world = _base_world()
    tx, origin, sender = scenario(world)
    pre = world.state.copy()
    item = tx_item(BlockTx(tx, origin, sender), world.separator)
    tx_hash = keccak256(item)
    receipt, steps = witness_tx(world.state, tx, world.env(origin, sender))
    return {
        "name": name,
        "stf_version": 1,
        "domain": to_json(world.domain),
        "env": {"timestamp": world.now, "origin": origin.name, "l1_sender": to_json(sender)},
        "pre": {"root": "0x" + pre.root().hex(), "leaves": leaves_json(pre)},
        "tx": to_json(tx),
        "encoding": "0x" + encode_standalone(tx, world.separator).hex(),
        "tx_hash": "0x" + tx_hash.hex(),
        "receipt": to_json(receipt),
        "steps": [step_json(step) for step in steps],
        "post": {"root": "0x" + world.state.root().hex(), "leaves": leaves_json(world.state)},
    }


def build_all() -> dict[str, bytes]:
    """Every vector as canonical JSON bytes, by file name."""
    out = {}
    for name, scenario in scenarios().items():
        vector = build_vector(name, scenario)
        out[f"{name}.json"] = (json.dumps(vector, indent=1, sort_keys=True) + "\n").encode()
    manifest = {n: hashlib.sha256(b).hexdigest() for n, b in sorted(out.items())}
    out["manifest.json"] = (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode()
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="rollbook vectors")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    files = build_all()
    for name, body in files.items():
        (args.out / name).write_bytes(body)
    print(f"wrote {len(files) - 1} vectors and manifest.json to {args.out}")
    return 0
