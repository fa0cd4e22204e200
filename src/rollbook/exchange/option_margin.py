"""Standard margin for European options (issue #3), per Deribit's published formulas.

Source: Deribit, "Margin requirements" (standard margin, options): for a short option

    initial     = max(0.15 − OTM amount / underlying, 0.10) · underlying + mark
    maintenance = 0.075 · underlying + mark

per unit of underlying, where the OTM amount is ``max(K − S, 0)`` for a call and
``max(S − K, 0)`` for a put. A long option needs no margin: its premium is paid in
full. Aevo and Derive publish the same shape with their own parameters, so the three
fractions are parameters (ppm) with Deribit's values as defaults.

All values are integers: prices in quote units per whole underlying, sizes in base
units (``SIZE_ONE`` per underlying); a position's requirement rounds up.
"""

from __future__ import annotations

from typing import NamedTuple

from rollbook.exchange.numeric import PPM, SIZE_ONE, Rounding, mul_div


class OptionMarginParams(NamedTuple):
    """The three fractions of the standard option margin, in ppm."""

    initial_base_ppm: int = 150_000
    initial_floor_ppm: int = 100_000
    maintenance_ppm: int = 75_000


DERIBIT = OptionMarginParams()


def otm_amount(spot: int, strike: int, is_call: bool) -> int:
    """How far out of the money the option is, in quote units (0 if in the money)."""
    return max(strike - spot, 0) if is_call else max(spot - strike, 0)


def short_initial_per_unit(
    spot: int, strike: int, mark: int, is_call: bool, params: OptionMarginParams = DERIBIT
) -> int:
    """Initial margin of one short option on one whole underlying, in quote units.

    ``max(base · S − OTM, floor · S) + mark`` — the same as
    ``max(base − OTM/S, floor) · S + mark`` without dividing by ``S``.
    """
    base = mul_div(spot, params.initial_base_ppm, PPM, Rounding.UP)
    floor = mul_div(spot, params.initial_floor_ppm, PPM, Rounding.UP)
    return max(base - otm_amount(spot, strike, is_call), floor) + mark


def short_maintenance_per_unit(spot: int, mark: int, params: OptionMarginParams = DERIBIT) -> int:
    """Maintenance margin of one short option on one whole underlying, in quote units."""
    return mul_div(spot, params.maintenance_ppm, PPM, Rounding.UP) + mark


def position_requirements(
    size: int,
    spot: int,
    strike: int,
    mark: int,
    is_call: bool,
    params: OptionMarginParams = DERIBIT,
) -> tuple[int, int]:
    """``(IM, MM)`` of an option position of signed ``size`` base units; longs need 0."""
    if size >= 0:
        return 0, 0
    units = -size
    initial = short_initial_per_unit(spot, strike, mark, is_call, params)
    maintenance = short_maintenance_per_unit(spot, mark, params)
    return (
        mul_div(initial, units, SIZE_ONE, Rounding.UP),
        mul_div(maintenance, units, SIZE_ONE, Rounding.UP),
    )
