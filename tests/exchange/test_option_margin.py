"""Standard option margin against hand-computed Deribit-style examples."""

from __future__ import annotations

from rollbook.exchange.numeric import SIZE_ONE
from rollbook.exchange.option_margin import (
    OptionMarginParams,
    position_requirements,
    short_initial_per_unit,
    short_maintenance_per_unit,
)

USD = 10**6


def test_otm_short_call() -> None:
    # S = 3,000, K = 3,300 call, mark 40: OTM = 300 → max(0.15 − 0.1, 0.10) = 0.10
    # IM = 0.10 · 3,000 + 40 = 340; MM = 0.075 · 3,000 + 40 = 265
    assert short_initial_per_unit(3000 * USD, 3300 * USD, 40 * USD, True) == 340 * USD
    assert short_maintenance_per_unit(3000 * USD, 40 * USD) == 265 * USD


def test_slightly_otm_short_put_uses_the_base_fraction() -> None:
    # S = 3,000, K = 2,850 put, mark 55: OTM = 150, so 0.15 · 3,000 − 150 = 300, which
    # equals the floor 0.10 · 3,000: max(300, 300) + 55 = 355
    assert short_initial_per_unit(3000 * USD, 2850 * USD, 55 * USD, False) == 355 * USD
    # K = 2,940 put, mark 80: OTM = 60 → max(450 − 60, 300) + 80 = 470
    assert short_initial_per_unit(3000 * USD, 2940 * USD, 80 * USD, False) == 470 * USD


def test_itm_short_call_pays_the_full_base_plus_mark() -> None:
    # K = 2,700 call is 300 in the money: OTM = 0 → 0.15 · 3,000 + mark 320 = 770
    assert short_initial_per_unit(3000 * USD, 2700 * USD, 320 * USD, True) == 770 * USD


def test_position_rounding_and_longs() -> None:
    # Short 0.5 of the OTM call above: IM 340 · 0.5 = 170, MM 265 · 0.5 = 132.5
    im, mm = position_requirements(-SIZE_ONE // 2, 3000 * USD, 3300 * USD, 40 * USD, True)
    assert (im, mm) == (170 * USD, 132_500_000)
    # A long needs nothing: the premium is paid in full.
    assert position_requirements(SIZE_ONE, 3000 * USD, 3300 * USD, 40 * USD, True) == (0, 0)
    # Requirements round up: 1 base unit of a 265-dollar MM is 2.65 quote units → 3.
    assert position_requirements(-1, 3000 * USD, 3300 * USD, 40 * USD, True)[1] == 3


def test_parameters_change_the_fractions() -> None:
    aggressive = OptionMarginParams(100_000, 50_000, 50_000)
    # max(300 − 300, 150) + 40 = 190
    assert short_initial_per_unit(3000 * USD, 3300 * USD, 40 * USD, True, aggressive) == 190 * USD
