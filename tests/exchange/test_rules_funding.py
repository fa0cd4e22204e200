"""Lazy hourly funding against hand-computed cases (docs/design/consensus.md section 5).

Anchors: dYdX v4 funding (premium sampled, averaged over the hour, 1/8 of the 8-hour
rate paid hourly) and Hyperliquid (hourly at 1/8, capped).

    premium_ppm = (mark − index) · 1e6 / index       (truncated toward zero)
    rate_ppm    = clamp(Σ premium / (samples · 8), ±funding_cap_ppm)
    ΔF          = rate_ppm · index · INDEX_SCALE / 1e6
    payment     = ceil(size · ΔF / (SIZE_ONE · INDEX_SCALE))   (longs pay if ΔF > 0)

``GENESIS_TIME`` is an hour boundary, so ``world.now`` starts an hour.
"""

from __future__ import annotations

from rollbook.exchange.stf import Receipt
from rollbook.exchange.txs import Fill, SettleAccount
from rollbook.exchange.types import Side
from rollbook.sim.world import GENESIS_TIME, Trader, World, base, usd
from tests.exchange.helpers import conservation_holds

HOUR = 3600


def publish(world: World, at: int, index: int, mark: int) -> Receipt:
    """Move the clock to ``at`` (seconds after genesis) and publish index and mark."""
    world.now = GENESIS_TIME + at
    receipt = world.set_prices(index, mark)
    assert receipt.ok, receipt
    return receipt


def test_funding_index_moves_by_clamped_average_premium_over_eight() -> None:
    world = World()
    assert world.list_perp().ok
    publish(world, 0, usd(2000), usd(2010))  # premium = 10e6 · 1e6 / 2_000e6 = 5_000
    publish(world, 600, usd(2000), usd(2020))  # premium = 10_000
    publish(world, 1200, usd(2000), usd(1990))  # premium = −5_000
    inst = world.state.instrument(1)
    assert (inst.premium_sum_ppm, inst.premium_samples, inst.funding_index) == (10_000, 3, 0)
    publish(world, 3599, usd(2000), usd(2000))  # still the same hour: premium 0, 4 samples
    assert world.state.instrument(1).funding_index == 0
    publish(world, HOUR, usd(2000), usd(2000))  # the next hour closes the first
    # rate = 10_000 // (4 · 8) = 312 (|312.5| truncated), cap 5_000 not hit
    # ΔF = 312 · 2_000_000_000 · 1e12 / 1e6 = 624_000_000_000_000_000
    inst = world.state.instrument(1)
    assert inst.funding_index == 624_000_000_000_000_000
    # the new hour's accumulator holds this report's sample only
    assert (inst.premium_sum_ppm, inst.premium_samples) == (0, 1)
    assert inst.funding_hour == GENESIS_TIME // HOUR + 1


def test_funding_rate_is_capped_both_ways() -> None:
    """Hyperliquid-style cap: |rate| ≤ funding_cap_ppm (5_000 ppm by default)."""
    world = World()
    assert world.list_perp().ok
    publish(world, 0, usd(2000), usd(2000))  # premium 0
    publish(world, 1, usd(2000), usd(2200))  # premium 100_000 (a 10 % move, allowed)
    publish(world, HOUR, usd(2000), usd(2000))
    # rate = 100_000 // (2 · 8) = 6_250 → clamped to 5_000
    # ΔF = 5_000 · 2_000e6 · 1e6 = 10_000_000_000_000_000_000
    assert world.state.instrument(1).funding_index == 10**19
    publish(world, HOUR + 1, usd(2000), usd(1800))  # premium −100_000
    publish(world, 2 * HOUR, usd(2000), usd(1980))  # a 10 % step from 1800
    # rate = −100_000 // 16 → −6_250 → clamped to −5_000: back to zero
    assert world.state.instrument(1).funding_index == 0


def open_pair(world: World, long_size: int) -> tuple[Trader, Trader]:
    longer = world.add_trader("long", 10_000)
    shorter = world.add_trader("short", 10_000)
    ask = world.order(shorter, Side.SELL, usd(2000), long_size)
    bid = world.order(longer, Side.BUY, usd(2000), long_size)
    assert world.l2(Fill(ask, bid, long_size)).ok
    return longer, shorter


def test_long_and_short_settle_with_ceil_rounding_toward_the_pool() -> None:
    """SettleAccount applies ΔF lazily; payments round up, receipts down (toward the pool)."""
    index = 2_000_123_457  # an index off the cent grid, so that payments do not divide
    world = World()
    assert world.list_perp().ok
    publish(world, 0, index, index)  # premium 0
    longer, shorter = open_pair(world, 12_300_000)  # 0.123 ETH
    long_before = world.state.account(longer.index).balance
    short_before = world.state.account(shorter.index).balance
    publish(world, 1200, index, 2_020_000_000)
    # premium = (2_020_000_000 − 2_000_123_457) · 1e6 // 2_000_123_457
    #         = 19_876_543_000_000 // 2_000_123_457 = 9_937
    publish(world, HOUR, index, index)
    # rate = (0 + 9_937) // (2 · 8) = 621
    # ΔF = 621 · 2_000_123_457 · 1e6 = 1_242_076_666_797_000_000
    assert world.state.instrument(1).funding_index == 1_242_076_666_797_000_000
    # nothing moves until the accounts are touched
    assert world.state.account(longer.index).balance == long_before
    # long: 12_300_000 · ΔF / 1e20 = 152_775.43… → pays ceil = 152_776
    assert world.l2(SettleAccount(longer.index)).ok
    assert world.state.account(longer.index).balance == long_before - 152_776
    assert world.state.instrument(1).pool == 152_776
    # short: ceil(−152_775.43…) = −152_775 → receives 152_775
    assert world.l2(SettleAccount(shorter.index)).ok
    assert world.state.account(shorter.index).balance == short_before + 152_775
    assert world.state.instrument(1).pool == 1
    assert world.state.position(longer.index, 1).funding_snap == 1_242_076_666_797_000_000
    # settling again moves nothing
    root = world.state.root()
    assert world.l2(SettleAccount(longer.index)).ok
    assert world.state.root() == root
    assert conservation_holds(world)


def test_negative_funding_shorts_pay_longs() -> None:
    index = 2_000_123_457
    world = World()
    assert world.list_perp().ok
    publish(world, 0, index, index)
    longer, shorter = open_pair(world, 12_300_000)
    long_before = world.state.account(longer.index).balance
    short_before = world.state.account(shorter.index).balance
    publish(world, 1200, index, 1_980_000_000)
    # premium: |1_980_000_000 − 2_000_123_457| · 1e6 // 2_000_123_457
    #        = 20_123_457_000_000 // 2_000_123_457 = 10_061 → −10_061
    publish(world, HOUR, index, index)
    # rate = −(10_061 // 16) = −628
    # ΔF = −628 · 2_000_123_457 · 1e6 = −1_256_077_530_996_000_000
    assert world.state.instrument(1).funding_index == -1_256_077_530_996_000_000
    # short: −12_300_000 · ΔF / 1e20 = +154_497.536… → pays 154_498
    # long:  ceil(−154_497.536…) = −154_497 → receives 154_497
    assert world.l2(SettleAccount(shorter.index)).ok
    assert world.l2(SettleAccount(longer.index)).ok
    assert world.state.account(shorter.index).balance == short_before - 154_498
    assert world.state.account(longer.index).balance == long_before + 154_497
    assert world.state.instrument(1).pool == 1
    assert conservation_holds(world)


def test_fill_settles_funding_and_dust_is_swept_at_zero_open_interest() -> None:
    """Section 4: when open interest returns to zero the pool dust goes to account 0."""
    index = 2_000_123_457
    world = World()
    assert world.list_perp().ok
    publish(world, 0, index, index)
    longer, shorter = open_pair(world, 12_300_000)
    publish(world, 1200, index, 2_020_000_000)
    publish(world, HOUR, index, index)  # ΔF as in the settle test: long owes 152_776
    fund_before = world.state.account(0).balance
    long_before = world.state.account(longer.index).balance
    short_before = world.state.account(shorter.index).balance
    # close both at 2000 (maker = long side, taker = short side): each fill settles first
    ask = world.order(longer, Side.SELL, usd(2000), 12_300_000)
    bid = world.order(shorter, Side.BUY, usd(2000), 12_300_000)
    assert world.l2(Fill(ask, bid, 12_300_000)).ok
    # notional 246e6; maker fee 24_600; taker fee 123_000
    assert world.state.account(longer.index).balance == long_before - 152_776 + 246_000_000 - 24_600
    assert world.state.account(shorter.index).balance == (
        short_before + 152_775 - 246_000_000 - 123_000
    )
    inst = world.state.instrument(1)
    assert (inst.open_interest, inst.pool) == (0, 0)
    assert world.state.account(0).balance == fund_before + 1
    assert conservation_holds(world)


def test_position_opened_after_the_index_moved_pays_nothing_for_the_past() -> None:
    world = World()
    assert world.list_perp().ok
    publish(world, 0, usd(2000), usd(2200))
    publish(world, HOUR, usd(2000), usd(2000))
    assert world.state.instrument(1).funding_index == 10**19
    longer, _ = open_pair(world, base(1))
    assert world.state.position(longer.index, 1).funding_snap == 10**19
    before = world.state.account(longer.index).balance
    assert world.l2(SettleAccount(longer.index)).ok
    assert world.state.account(longer.index).balance == before


def test_settle_account_needs_no_fresh_mark() -> None:
    """Settlement moves only what the index already accrued: it survives an oracle outage."""
    world = World()
    assert world.list_perp().ok
    publish(world, 0, usd(2000), usd(2200))
    longer, _ = open_pair(world, base(1))
    publish(world, HOUR, usd(2000), usd(2000))  # ΔF = 1e19 (capped rate 5_000 ppm)
    before = world.state.account(longer.index).balance
    world.advance(10 * HOUR)  # the mark is ten hours stale
    assert world.l2(SettleAccount(longer.index)).ok
    # 1 ETH: 1e8 · 1e19 / 1e20 = 10_000_000 (10 USDC = 0.5 % of 2000)
    assert world.state.account(longer.index).balance == before - 10_000_000
