"""A batch's public input is the same in Python, on L1 and in the circuit (#8).

``rollbook.zk.claim.claim`` is the spec; ``zkclaim.vy`` (L1) must equal it on every
input, and ``BatchClaim`` (``circuits/claim.circom``, over 40 bytes here) must be
provable exactly for the claim of its data and roots.
"""

from __future__ import annotations

from typing import Any

import boa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rollbook.l1.compile import CONTRACTS
from rollbook.zk import claim as zc
from rollbook.zk import keys as zk
from tests.zk.helpers import provable as zk_provable

HARNESS = """
# pragma version 0.4.3
import zkclaim

@pure
@external
def claim(old_root: uint256, new_root: uint256, data_hash: bytes32) -> uint256:
    return zkclaim.claim(old_root, new_root, data_hash)
"""
ROOTS = st.integers(0, zk.R - 1)


@pytest.fixture
def harness() -> Any:
    deployer = boa.loads_partial(HARNESS, filename=str(CONTRACTS / "ClaimHarness.vy"))
    return deployer.deploy()


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(old=ROOTS, new=ROOTS, data=st.binary(max_size=200))
def test_l1_computes_the_same_claim(harness: Any, old: int, new: int, data: bytes) -> None:
    digest = zc.data_hash(data)
    assert harness.claim(old, new, digest) == zc.claim(old, new, digest)


def test_l1_refuses_a_root_that_is_no_field_element(harness: Any) -> None:
    with boa.reverts("zkclaim: a state root is a field element"):
        harness.claim(zk.R, 0, bytes(32))
    with pytest.raises(ValueError):
        zc.claim(0, zk.R, bytes(32))


def provable(old: int, new: int, data: bytes, public: int) -> bool:
    return zk_provable("claim_test", {"old_root": old, "new_root": new, "data": list(data)}, public)


def test_the_circuit_proves_the_claim_of_its_data_only() -> None:
    data = bytes(range(100, 140))
    old, new = 2**200 + 17, zk.R - 1
    public = zc.claim(old, new, zc.data_hash(data))
    assert provable(old, new, data, public)
    assert not provable(old, new, data[:-1] + b"\x00", public)
    assert not provable(new, old, data, public)
    assert not provable(old, new, data, (public + 1) % zk.R)
