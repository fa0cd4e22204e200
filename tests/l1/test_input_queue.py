"""The L1 input queue (InputQueue.vy): every deposit, forced tx and governance tx is
an entry whose hash is the block tx item derivation makes of it, so the one-step
executor can load a block's L1 txs from L1; and the Portal takes exactly the forced
txs derivation can take (a differential property against the codec)."""

from __future__ import annotations

from typing import Any

import boa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rollbook.chain.blocks import tx_item
from rollbook.chain.derive import ChainConfig, l1_tx
from rollbook.chain.l1 import L1Deposit, L1Forced, L1Governance
from rollbook.codec.txcodec import encode_standalone
from rollbook.crypto.keccak import keccak256
from rollbook.exchange.txs import (
    ForcedClose,
    NonceFloor,
    RegisterKey,
    RevokeKey,
    SetMarginMode,
    SetRiskParams,
    Transfer,
    Unreadable,
    Withdraw,
)
from tests.l1.conftest import (
    FORCED_WITHDRAW,
    WINDOW,
    deployer_of,
    load,
    load_portal,
    load_timelock,
)

CFG = ChainConfig(chain_id=901, domain_separator=bytes(32))
SECP256K1_HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0


def raw(value: Any) -> bytes:
    return bytes.fromhex(value[2:]) if isinstance(value, str) else bytes(value)


def entry(queue: Any, index: int) -> tuple[bytes, int]:
    item_hash, l1_block, _ = queue.entries(index)
    return bytes(item_hash), l1_block


def queue_of(contract: Any) -> Any:
    return deployer_of("InputQueue").at(contract.queue())


def test_deposits_and_forced_txs_join_the_queue_as_their_block_items(
    portal: Any, usdc: Any
) -> None:
    queue = queue_of(portal)
    user, owner = boa.env.generate_address(), boa.env.generate_address()
    usdc.mint(user, 5_000_000)
    boa.env.set_balance(user, 10**18)
    with boa.env.prank(user):
        usdc.approve(portal.address, 5_000_000)
        portal.deposit(5_000_000, owner)
        portal.force(FORCED_WITHDRAW, value=10**15)
    assert queue.count() == 2
    deposit = l1_tx(L1Deposit(0, raw(owner), 5_000_000), CFG)
    forced = l1_tx(L1Forced(raw(user), FORCED_WITHDRAW), CFG)
    assert not isinstance(forced.tx, Unreadable)
    number = boa.env.evm.patch.block_number
    assert entry(queue, 0) == (keccak256(tx_item(deposit, CFG.domain_separator)), number)
    assert entry(queue, 1) == (keccak256(tx_item(forced, CFG.domain_separator)), number)
    assert queue.due(1, number) and not queue.due(1, number - 1) and not queue.due(2, number)
    with boa.reverts("InputQueue: only the Portal and the Timelock push"):
        queue.push(bytes(32), sender=boa.env.generate_address())


def test_governance_joins_the_queue_when_executed() -> None:
    timelock = load_timelock(boa.env.eoa, 60)
    queue = queue_of(timelock)
    with boa.reverts("govtx: a field has the wrong type"):  # no undecodable input enters
        timelock.schedule(b"\x0c" + b"not a listing", boa.env.evm.patch.timestamp + 60)
    data = encode_standalone(SetRiskParams(16, 3_600, 50_000, 500_000), CFG.domain_separator)
    proposal = timelock.schedule(data, boa.env.evm.patch.timestamp + 60)
    assert queue.count() == 0
    boa.env.time_travel(seconds=60)
    timelock.execute(proposal, data)
    item = l1_tx(L1Governance(data), CFG)
    assert item.tx == SetRiskParams(16, 3_600, 50_000, 500_000)
    assert entry(queue, 0)[0] == keccak256(tx_item(item, CFG.domain_separator))


def test_the_queue_is_bound_once() -> None:
    queue = load("InputQueue")
    with boa.reverts("InputQueue: a pusher is the zero address"):
        queue.bind("0x" + "00" * 20, boa.env.eoa)
    queue.bind(boa.env.eoa, boa.env.eoa)
    with boa.reverts("InputQueue: bound already"):
        queue.bind(boa.env.eoa, boa.env.eoa)


VALID = [
    Withdraw(3, 1, 0),
    Transfer(1, 2, 10, 5),
    RegisterKey(1, 2, b"\x11" * 20, 9),
    RevokeKey(1, 3, 1),
    NonceFloor(4, 77),
    SetMarginMode(2, True, 1),
    ForcedClose(2, 7),
    Withdraw(3, 1, 0, bytes(31) + b"\x01" + bytes(31) + b"\x02" + b"\x1b"),
    Transfer(1, 2, 10, 5, b"\x05" * 32 + (SECP256K1_HALF_N).to_bytes(32, "big") + b"\x1c"),
]
ENCODED = [encode_standalone(tx, CFG.domain_separator) for tx in VALID]


@st.composite
def forced_data(draw: st.DrawFn) -> bytes:
    """Valid forced txs, mutated: a byte changed, cut or added, or random bytes."""
    choice = draw(st.integers(0, 4))
    if choice == 4:
        return draw(st.binary(min_size=1, max_size=120))
    data = bytearray(draw(st.sampled_from(ENCODED)))
    if choice == 0:
        return bytes(data)
    if choice == 1:
        at = draw(st.integers(0, len(data) - 1))
        data[at] = draw(st.sampled_from([0, 1, 2, 0x40, 0x45, 0x7F, 0x80, 0xFF, data[at] ^ 1]))
        return bytes(data)
    if choice == 2:
        return bytes(data[: draw(st.integers(1, len(data) - 1))])
    return bytes(data) + draw(st.binary(min_size=1, max_size=3))


@pytest.fixture(scope="module")
def forcing() -> Any:
    with boa.env.anchor():
        oracle = load("OutputOracle", boa.env.eoa, 0, WINDOW, boa.env.eoa)
        portal = load_portal(boa.env.eoa, oracle.address, 65537, 0, 0, 600, 300)
        yield portal


def test_every_valid_forced_kind_is_taken(forcing: Any) -> None:
    for data in ENCODED:
        forcing.force(data)
        assert not isinstance(l1_tx(L1Forced(bytes(20), data), CFG).tx, Unreadable)


@settings(max_examples=300, deadline=None)
@given(data=forced_data())
def test_the_portal_takes_exactly_the_forced_txs_derivation_takes(
    forcing: Any, data: bytes
) -> None:
    """The Portal's check is a second decoder of the forced kinds: it must agree with
    the codec, or a queued input would be one the executor cannot load as derivation
    did."""
    taken = not isinstance(l1_tx(L1Forced(bytes(20), data), CFG).tx, Unreadable)
    with boa.env.anchor():
        try:
            forcing.force(data)
            accepted = True
        except boa.BoaError as exc:
            assert "Portal:" in str(exc)
            accepted = False
    assert accepted == taken, data.hex()
