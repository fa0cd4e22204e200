"""The on-chain Black-76 (Black76.vy with the NormalTable contracts) against the STF's
integers (portfolio_margin.mark_and_vector): the same mark and scenario vector, bit for
bit, and the table contracts are what rollbook.l1.normal_table generates."""

from __future__ import annotations

import random
from typing import Any

import boa
import pytest

from rollbook.exchange.fixedmath import _Q_TABLE
from rollbook.exchange.portfolio_margin import mark_and_vector
from rollbook.l1.compile import source_path
from rollbook.l1.normal_table import PART_ROWS, PARTS, row_bytes, source
from tests.l1.conftest import load

USD = 10**6
VOL = 10**12  # a vol in ppm to 1e18
DAY = 86_400


@pytest.fixture(scope="module")
def pricer() -> Any:
    with boa.swap_env(boa.Env()):
        tables = [load(name).address for name in PARTS]
        yield load("Black76", tables)


def test_the_table_contracts_are_generated_from_the_python_table() -> None:
    for part, name in enumerate(PARTS):
        assert source_path(name).read_text() == source(part), f"{name}: regenerate it"


def test_table_rows_are_the_python_rows() -> None:
    with boa.swap_env(boa.Env()):
        tables = [load(name) for name in PARTS]
        for part, table in enumerate(tables):
            first = PART_ROWS * part
            last = min(first + PART_ROWS, len(_Q_TABLE)) - 1
            indices = [first, first + 1, last, last, first + 17]
            assert table.rows(indices) == [row_bytes(_Q_TABLE[i]) for i in indices]
        with pytest.raises(boa.BoaError, match="not a row"):
            tables[0].rows([0, PART_ROWS])


CASES = [
    (3000 * USD, 3000 * USD, 800_000 * VOL, DAY, True),  # at the money
    (3000 * USD, 3300 * USD, 800_000 * VOL, DAY + 8 * 3600, False),
    (3000 * USD, 1000 * USD, 10_000 * VOL, 60, True),  # deep in the money, low vol
    (3000 * USD, 9000 * USD, 5_000_000 * VOL, 2 * 365 * DAY, True),  # far out, high vol
    (60_000 * USD, 90_000 * USD, 600_000 * VOL, 30 * DAY, False),  # a deep put
    (100_000 * USD, 100_000 * USD, 700_000 * VOL, 1, True),  # one second left
    (3000 * USD, 2900 * USD, 800_000 * VOL, 0, False),  # no time: intrinsic values
]


def random_cases(count: int, seed: int) -> list[tuple[int, int, int, int, bool]]:
    rng = random.Random(seed)
    cases = []
    for _ in range(count):
        forward = rng.randint(USD, 100_000 * USD)
        strike = max(1, forward * rng.randint(300, 3000) // 1000)
        vol = rng.randint(10_000, 5_000_000) * VOL
        seconds = rng.choice((1, 60, 3600, DAY, 30 * DAY, 365 * DAY)) + rng.randint(0, 999)
        cases.append((forward, strike, vol, seconds, rng.random() < 0.5))
    return cases


@pytest.mark.parametrize("case", CASES + random_cases(24, 7))
def test_the_mark_and_vector_are_the_stf_s(
    pricer: Any, case: tuple[int, int, int, int, bool]
) -> None:
    mark, vector = pricer.mark_and_vector(*case)
    assert (mark, tuple(vector)) == mark_and_vector(*case)


def test_inputs_black76_does_not_define_revert(pricer: Any) -> None:
    with pytest.raises(boa.BoaError, match="positive"):
        pricer.mark_and_vector(0, 3000 * USD, 800_000 * VOL, DAY, True)
    with pytest.raises(boa.BoaError, match="negative"):
        pricer.mark_and_vector(3000 * USD, 3000 * USD, 800_000 * VOL, -1, True)
