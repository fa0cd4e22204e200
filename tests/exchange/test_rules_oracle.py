"""The oracle trust model (docs/design/consensus.md section 8).

k of n signers (World: n = 3, k = 2), strictly increasing timestamps within
``staleness`` (60 s) of the block, each price moving at most ``max_move_ppm``
(100_000 = 10 %) per report; first prices of a new asset are unbounded.
"""

from __future__ import annotations

from rollbook.crypto.secp256k1 import private_key_address, sign_digest
from rollbook.exchange.leaves import AssetPrice, price_key
from rollbook.exchange.txs import OracleUpdate, SetOracle, oracle_report_digest
from rollbook.sim.world import World, key_from_label, usd
from tests.exchange.helpers import reject

STRANGER = key_from_label("not-an-oracle")


def make_world() -> World:
    world = World()
    assert world.list_perp().ok
    assert world.set_prices(usd(2000)).ok
    world.advance(1)
    return world


def report(
    world: World, keys: list[bytes], index: int, mark: int, at: int | None = None
) -> OracleUpdate:
    """A report of asset 1 / instrument 1 at ``at`` (default now) signed by ``keys``."""
    timestamp = world.now if at is None else at
    prices, marks = ((1, index),), ((1, mark),)
    digest = oracle_report_digest(world.separator, timestamp, prices, marks)
    return OracleUpdate(timestamp, prices, marks, tuple(sign_digest(k, digest) for k in keys))


def test_quorum_needs_k_distinct_members() -> None:
    world = make_world()
    k0, k1, k2 = world.oracle_keys
    reject(world, report(world, [k0], usd(2001), usd(2001)), "BadSignature", 13009)
    reject(world, report(world, [k0, k0], usd(2001), usd(2001)), "BadSignature", 13009)
    reject(world, report(world, [k0, STRANGER], usd(2001), usd(2001)), "BadSignature", 13009)
    assert world.l2(report(world, [k2, k1], usd(2001), usd(2002))).ok
    world.advance(1)
    assert world.l2(report(world, [k0, k1, k2], usd(2003), usd(2003))).ok
    assert world.state.get(price_key(1)) == AssetPrice(usd(2003), world.now)
    inst = world.state.instrument(1)
    assert (inst.mark, inst.mark_time) == (usd(2003), world.now)
    assert world.state.oracle().last_timestamp == world.now


def test_timestamps_strictly_increase() -> None:
    world = make_world()
    keys = list(world.oracle_keys[:2])
    assert world.l2(report(world, keys, usd(2000), usd(2000))).ok
    reject(world, report(world, keys, usd(2001), usd(2001)), "OracleError", 11098)  # same time
    world.advance(5)
    earlier = report(world, keys, usd(2001), usd(2001), at=world.now - 10)
    reject(world, earlier, "OracleError", 11098)


def test_report_within_staleness_of_block_time() -> None:
    """block.timestamp − staleness ≤ report.timestamp ≤ block.timestamp."""
    world = make_world()
    world.advance(100)  # the last report is 100 s old, so only staleness can refuse
    keys = list(world.oracle_keys[:2])
    stale = report(world, keys, usd(2000), usd(2000), at=world.now - 61)
    reject(world, stale, "OracleError", 11098)
    future = report(world, keys, usd(2000), usd(2000), at=world.now + 1)
    reject(world, future, "OracleError", 11098)
    assert world.l2(report(world, keys, usd(2000), usd(2000), at=world.now - 60)).ok


def test_max_move_per_report() -> None:
    """|new − old| ≤ floor(old · max_move_ppm / 1e6), for index prices and marks."""
    world = make_world()
    keys = list(world.oracle_keys[:2])
    # 2000 → 2200: |Δ| = 200e6 = floor(2_000e6 · 100_000 / 1e6): allowed
    assert world.l2(report(world, keys, usd(2200), usd(2200))).ok
    world.advance(1)
    # 2200 → 2420.000001: |Δ| = 220_000_001 > 220e6
    reject(world, report(world, keys, 2_420_000_001, usd(2420)), "OracleError", 11098)
    reject(world, report(world, keys, usd(2420), 2_420_000_001), "OracleError", 11098)
    # mark down: 2200 → 1979.999999: |Δ| = 220_000_001
    reject(world, report(world, keys, usd(2200), 1_979_999_999), "OracleError", 11098)
    assert world.l2(report(world, keys, usd(2420), usd(1980))).ok


def test_first_prices_of_a_new_asset_are_unbounded() -> None:
    world = make_world()
    assert world.list_perp(instrument_id=2, symbol="BTC_USDC-PERPETUAL", asset=2).ok
    update = world.oracle_update({1: usd(2000), 2: usd(90_000)}, {1: usd(2000), 2: usd(90_000)})
    assert world.l2(update).ok
    assert world.state.get(price_key(2)) == AssetPrice(usd(90_000), world.now)
    assert world.state.instrument(2).mark == usd(90_000)


def test_marks_need_a_listed_instrument_and_an_index() -> None:
    world = make_world()
    reject(world, world.oracle_update({1: usd(2000)}, {5: usd(2000)}), "UnknownInstrument", 10013)
    assert world.list_perp(instrument_id=2, symbol="BTC_USDC-PERPETUAL", asset=2).ok
    reject(world, world.oracle_update({1: usd(2000)}, {2: usd(9)}), "OracleError", 11098)


def test_oracle_rotation_through_governance() -> None:
    world = make_world()
    new_keys = tuple(key_from_label(f"new-oracle-{i}") for i in range(4))
    rotate = SetOracle(tuple(private_key_address(k) for k in new_keys), 3, 60, 100_000)
    reject(world, rotate, "WrongOrigin", 13009)  # from L2
    assert world.l1(rotate).ok
    old = list(world.oracle_keys)
    reject(world, report(world, old, usd(2000), usd(2000)), "BadSignature", 13009)
    reject(world, report(world, list(new_keys[:2]), usd(2000), usd(2000)), "BadSignature", 13009)
    assert world.l2(report(world, list(new_keys[1:]), usd(2000), usd(2000))).ok
