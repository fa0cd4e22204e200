"""Each contract against its Python model, driven by Hypothesis state machines
(titanoboa's EVM; every run starts from a fresh deployment inside a snapshot)."""

from __future__ import annotations

from typing import Any

import boa
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from rollbook.chain.derive import (
    ChainConfig,
    InboxCursor,
    InvalidBatch,
    forced_batch,
    inbox_accepts,
)
from rollbook.chain.l1 import L1Block
from rollbook.codec.batch import decode_batch, frame
from rollbook.codec.errors import DecodeError
from rollbook.codec.txcodec import GOVERNANCE_KINDS, decode_standalone, encode_standalone
from rollbook.codec.txroot import merkle_root
from rollbook.crypto.keccak import keccak256
from rollbook.exchange.txs import SetInstrumentParams, SetOracle, SetRiskParams
from tests.l1.conftest import load, load_timelock

WINDOW = 100


class OutputOracleModel(RuleBasedStateMachine):
    """Proposals, removals and holds by the dispute game, and finality after the window
    with no game open on the root or on any root before it."""

    @initialize()
    def deploy(self) -> None:
        self.anchor = boa.env.anchor()
        self.anchor.__enter__()
        self.oracle: Any = load("OutputOracle", boa.env.eoa, 0, WINDOW, boa.env.eoa)
        self.outputs: list[tuple[bytes, int, int]] = []  # (root, l2 block, proposed at)
        self.games: list[tuple[bytes, tuple[int, bytes, int]]] = []  # open: (key, output)
        self.lowest = 2**256 - 1  # the lowest index held since no game was open
        self.now = boa.env.evm.patch.timestamp

    def teardown(self) -> None:
        if hasattr(self, "anchor"):
            self.anchor.__exit__(None, None, None)

    @rule(step=st.integers(1, 50), root=st.binary(min_size=32, max_size=32))
    def propose(self, step: int, root: bytes) -> None:
        last = self.outputs[-1][1] if self.outputs else 0
        if root == bytes(32):
            with boa.reverts("OutputOracle: empty root"):
                self.oracle.propose(root, last + step, 0)
            return
        self.oracle.propose(root, last + step, 0)
        self.outputs.append((root, last + step, self.now))

    @rule(step=st.integers(0, 3))
    def propose_stale(self, step: int) -> None:
        if not self.outputs:
            return
        with boa.reverts("OutputOracle: L2 block must increase"):
            self.oracle.propose(b"\x01" * 32, max(0, self.outputs[-1][1] - step), 0)

    # Exactly the window, and one second short of it: the boundaries of finality.
    @rule(seconds=st.sampled_from([1, 20, WINDOW - 1, WINDOW]))
    def wait(self, seconds: int) -> None:
        boa.env.time_travel(seconds=seconds)
        self.now += seconds

    @rule(data=st.data())
    def remove(self, data: st.DataObject) -> None:
        if not self.outputs:
            return
        index = data.draw(st.integers(0, len(self.outputs) - 1))
        if self._final(index):
            with boa.reverts("OutputOracle: a final root cannot be removed"):
                self.oracle.remove_from(index)
        else:
            self.oracle.remove_from(index)
            del self.outputs[index:]  # their games stay open until they end

    @rule(data=st.data(), release=st.booleans())
    def dispute(self, data: st.DataObject, release: bool) -> None:
        """A game holds a root back from finality, or ends and releases it (a game of
        a removed root too)."""
        if release:
            if not self.games:
                with boa.reverts("OutputOracle: no open dispute of this root"):
                    self.oracle.release(b"\x05" * 32)
                return
            key, _ = self.games.pop(data.draw(st.integers(0, len(self.games) - 1)))
            self.oracle.release(key)
            if not self.games:
                self.lowest = 2**256 - 1
            return
        if not self.outputs:
            return
        index = data.draw(st.integers(0, len(self.outputs) - 1))
        if self._final(index):
            with boa.reverts("OutputOracle: a final root cannot be disputed"):
                self.oracle.hold(index)
            return
        key = self.oracle.hold(index)
        self.games.append((key, self._identity(index)))
        self.lowest = min(self.lowest, index)

    def _identity(self, index: int) -> tuple[int, bytes, int]:
        root, _, proposed_at = self.outputs[index]
        return (index, root, proposed_at)

    def _final(self, index: int) -> bool:
        held = any(output == self._identity(index) for _, output in self.games)
        window = self.now >= self.outputs[index][2] + WINDOW
        return window and index < self.lowest and not held

    @invariant()
    def matches_the_model(self) -> None:
        if not hasattr(self, "oracle"):
            return
        assert self.oracle.count() == len(self.outputs)
        for index, (root, block, _) in enumerate(self.outputs):
            assert self.oracle.is_final(index) == self._final(index)
            assert self.oracle.outputs(index)[:2] == (root, block)
        assert not self.oracle.is_final(len(self.outputs))


DELAY = 30


def decodes_as_governance(data: bytes) -> bool:
    try:
        return type(decode_standalone(data, bytes(32))) in GOVERNANCE_KINDS
    except DecodeError:
        return False


GOVERNANCE_TXS = [
    encode_standalone(tx, bytes(32))
    for tx in (
        SetRiskParams(16, 3_600, 50_000, 500_000),
        SetOracle((), 0, 0, 0),
        SetInstrumentParams(1, 50_000, 30_000, 100, 500, 10_000, 5_000, 10**15, True),
    )
]


class TimelockModel(RuleBasedStateMachine):
    """Schedule, cancel, execute: each governance tx runs at most once, after its eta,
    and in the order scheduled (cancelled ones are skipped)."""

    DELAY = DELAY

    @initialize()
    def deploy(self) -> None:
        self.anchor = boa.env.anchor()
        self.anchor.__enter__()
        self.timelock: Any = load_timelock(boa.env.eoa, self.DELAY)
        self.proposals: list[tuple[bytes, int, str]] = []  # (data, eta, state)
        self.now = boa.env.evm.patch.timestamp

    def teardown(self) -> None:
        if hasattr(self, "anchor"):
            self.anchor.__exit__(None, None, None)

    @rule(
        extra=st.sampled_from([0, 1, 15]),
        data=st.one_of(
            st.sampled_from(GOVERNANCE_TXS),
            st.tuples(st.integers(0, 255), st.binary(max_size=40)).map(
                lambda kb: bytes([kb[0]]) + kb[1]
            ),
        ),
    )
    def schedule(self, extra: int, data: bytes) -> None:
        eta = self.now + self.DELAY + extra
        if not 12 <= data[0] <= 16:  # only the governance kinds (rollbook.codec.txcodec)
            with boa.reverts("Timelock: not a governance tx kind"):
                self.timelock.schedule(data, eta)
            return
        if not decodes_as_governance(data):  # govtx.vy refuses it (its own tests)
            with boa.reverts():
                self.timelock.schedule(data, eta)
            return
        assert self.timelock.schedule(data, eta) == len(self.proposals)
        self.proposals.append((data, eta, "pending"))

    @rule(seconds=st.sampled_from([1, 10, DELAY - 1, DELAY]))
    def wait(self, seconds: int) -> None:
        boa.env.time_travel(seconds=seconds)
        self.now += seconds

    @rule(pick=st.data())
    def execute(self, pick: st.DataObject) -> None:
        if not self.proposals:
            return
        index = pick.draw(st.integers(0, len(self.proposals) - 1))
        data, eta, state = self.proposals[index]
        first_pending = next(
            (i for i, p in enumerate(self.proposals) if p[2] == "pending"), len(self.proposals)
        )
        if state != "pending":
            with boa.reverts("Timelock: already executed or cancelled"):
                self.timelock.execute(index, data)
        elif index != first_pending:
            with boa.reverts("Timelock: an earlier proposal is still pending"):
                self.timelock.execute(index, data)
        elif self.now < eta:
            with boa.reverts("Timelock: too early"):
                self.timelock.execute(index, data)
        else:
            self.timelock.execute(index, data)
            self.proposals[index] = (data, eta, "done")

    @rule(pick=st.data())
    def cancel(self, pick: st.DataObject) -> None:
        if not self.proposals:
            return
        index = pick.draw(st.integers(0, len(self.proposals) - 1))
        data, eta, state = self.proposals[index]
        if state != "pending":
            with boa.reverts("Timelock: nothing to cancel"):
                self.timelock.cancel(index)
        else:
            self.timelock.cancel(index)
            self.proposals[index] = (data, eta, "cancelled")

    @invariant()
    def matches_the_model(self) -> None:
        if not hasattr(self, "timelock"):
            return
        assert self.timelock.count() == len(self.proposals)
        first_pending = next(
            (i for i, p in enumerate(self.proposals) if p[2] == "pending"), len(self.proposals)
        )
        assert self.timelock.cursor() == first_pending
        for index, (_, eta, state) in enumerate(self.proposals):
            assert self.timelock.proposals(index)[1:] == (eta, state != "pending")


TestOutputOracle = OutputOracleModel.TestCase
TestOutputOracle.settings = settings(max_examples=15, stateful_step_count=20, deadline=None)
TestTimelock = TimelockModel.TestCase
TestTimelock.settings = settings(max_examples=15, stateful_step_count=20, deadline=None)


class BatchInboxModel(RuleBasedStateMachine):
    """The inbox records exactly the batches derivation takes: a batch is recorded iff
    its head decodes, its frames end at its end, its tx counts add up, and
    ``rollbook.chain.derive.inbox_accepts`` takes it (the chain id, the inbox's count
    of batch blocks, origins and timestamps); then with its hash and the root of its
    items. Anything else, and posts by anyone else, are refused and record nothing."""

    @initialize()
    def deploy(self) -> None:
        self.anchor = boa.env.anchor()
        self.anchor.__enter__()
        boa.env.time_travel(blocks=20)
        self.queue: Any = load("InputQueue")
        self.queue.bind(boa.env.eoa, boa.env.eoa)
        self.entries: list[tuple[int, int]] = []
        self.inbox: Any = load("BatchInbox", boa.env.eoa, self.queue.address, 901, 4, 1800, 600)
        self.cfg = ChainConfig(
            901, bytes(32), confirmation_depth=4, max_drift=1800, inclusion_window=600
        )
        self.cursor = InboxCursor()
        self.records: list[tuple[bytes, bytes, int]] = []

    def teardown(self) -> None:
        if hasattr(self, "anchor"):
            self.anchor.__exit__(None, None, None)

    def _post(self, data: bytes) -> None:
        number, now = boa.env.evm.patch.block_number, boa.env.evm.patch.timestamp
        try:
            batch, items = decode_batch(data, bytes(32))
            cursor = inbox_accepts(self.cursor, batch, L1Block(number, b"", b"", now), self.cfg)
        except (DecodeError, InvalidBatch):
            with boa.reverts():
                self.inbox.post(data)
            return
        self.inbox.post(data)
        self.cursor = cursor
        self.records.append((keccak256(data), merkle_root(items), len(items)))

    @rule(
        chain=st.sampled_from([901, 901, 901, 902]),
        skew=st.sampled_from([0, 0, 0, -1, 1]),
        table=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2)), max_size=3),
        blocks=st.lists(
            st.tuples(st.integers(-2000, 2000), st.integers(0, 8), st.integers(0, 2)),
            min_size=1,
            max_size=3,
        ),
        extra=st.sampled_from([0, 0, 0, -1, 1]),
        data=st.data(),
    )
    def post_batch(
        self,
        chain: int,
        skew: int,
        table: list[tuple[int, int]],
        blocks: list[tuple[int, int, int]],
        extra: int,
        data: st.DataObject,
    ) -> None:
        number, now = boa.env.evm.patch.block_number, boa.env.evm.patch.timestamp
        head = (
            bytes([2])
            + chain.to_bytes(8, "big")
            + max(0, self.cursor.blocks + skew).to_bytes(8, "big")
        )
        head += bytes([len(table)]) + b"".join(
            i.to_bytes(2, "big") + tick.to_bytes(8, "big") + (1).to_bytes(8, "big")
            for i, tick in table
        )
        head += len(blocks).to_bytes(2, "big") + b"".join(
            max(0, now + dt).to_bytes(8, "big")
            + max(0, number - back).to_bytes(8, "big")
            + n.to_bytes(2, "big")
            for dt, back, n in blocks
        )
        count = max(0, sum(n for _, _, n in blocks) + extra)
        items = [data.draw(st.binary(min_size=1, max_size=40)) for _ in range(count)]
        self._post(head + b"".join(frame(item) for item in items))

    @rule(data=st.binary(min_size=0, max_size=120))
    def post_bytes(self, data: bytes) -> None:
        self._post(data)

    @rule()
    def push_input(self) -> None:
        self.queue.push(keccak256(len(self.entries).to_bytes(32, "big")))
        self.entries.append((boa.env.evm.patch.block_number, boa.env.evm.patch.timestamp))

    @rule(index=st.integers(0, 6))
    def force_include(self, index: int) -> None:
        """Rule 4: recorded iff ``forced_batch`` makes a head, and then that head."""
        number, now = boa.env.evm.patch.block_number, boa.env.evm.patch.timestamp
        try:
            head = forced_batch(self.cursor, self.entries[index], number, now, self.cfg)
        except (IndexError, InvalidBatch):
            with boa.reverts():
                self.inbox.force_include(index)
            return
        self.inbox.force_include(index)
        batch, _ = decode_batch(head, bytes(32))
        self.cursor = inbox_accepts(self.cursor, batch, L1Block(number, b"", b"", now), self.cfg)
        self.records.append((keccak256(head), bytes(32), 0))

    @rule(seconds=st.integers(0, 900))
    def wait(self, seconds: int) -> None:
        boa.env.time_travel(blocks=1 + seconds // 12)

    @rule(data=st.binary(min_size=41, max_size=80))
    def post_as_stranger(self, data: bytes) -> None:
        with (
            boa.env.prank(boa.env.generate_address()),
            boa.reverts("BatchInbox: only the batcher posts"),
        ):
            self.inbox.post(data)

    @invariant()
    def matches_the_model(self) -> None:
        if not hasattr(self, "inbox"):
            return
        assert self.inbox.count() == len(self.records)
        assert self.inbox.blocks() == self.cursor.blocks
        for index, (data_hash, tx_root, items) in enumerate(self.records):
            record = self.inbox.records(index)
            assert (record.data_hash, record.tx_root, record.items) == (data_hash, tx_root, items)


class CollateralModel(RuleBasedStateMachine):
    """The ERC-20: balances, allowances and supply move as a dict model says."""

    @initialize()
    def deploy(self) -> None:
        self.anchor = boa.env.anchor()
        self.anchor.__enter__()
        self.token: Any = load("Collateral", "USD Coin", "USDC")
        self.people = [boa.env.generate_address() for _ in range(3)]
        self.balances = dict.fromkeys(self.people, 0)
        self.allowed: dict[tuple[str, str], int] = {}

    def teardown(self) -> None:
        if hasattr(self, "anchor"):
            self.anchor.__exit__(None, None, None)

    @rule(who=st.integers(0, 2), amount=st.integers(0, 10**9))
    def mint(self, who: int, amount: int) -> None:
        self.token.mint(self.people[who], amount)
        self.balances[self.people[who]] += amount

    @rule(a=st.integers(0, 2), b=st.integers(0, 2), amount=st.integers(0, 10**9))
    def transfer(self, a: int, b: int, amount: int) -> None:
        sender, receiver = self.people[a], self.people[b]
        with boa.env.prank(sender):
            if amount > self.balances[sender]:
                with boa.reverts("Collateral: balance too low"):
                    self.token.transfer(receiver, amount)
                return
            self.token.transfer(receiver, amount)
        self.balances[sender] -= amount
        self.balances[receiver] += amount

    @rule(a=st.integers(0, 2), b=st.integers(0, 2), amount=st.integers(0, 10**9))
    def approve_and_pull(self, a: int, b: int, amount: int) -> None:
        owner, spender = self.people[a], self.people[b]
        with boa.env.prank(owner):
            self.token.approve(spender, amount)
        self.allowed[(owner, spender)] = amount
        pull = amount // 2
        with boa.env.prank(spender):
            if pull > self.balances[owner]:
                with boa.reverts("Collateral: balance too low"):
                    self.token.transferFrom(owner, spender, pull)
                return
            self.token.transferFrom(owner, spender, pull)
        self.balances[owner] -= pull
        self.balances[spender] += pull
        self.allowed[(owner, spender)] = amount - pull

    @invariant()
    def matches_the_model(self) -> None:
        if not hasattr(self, "token"):
            return
        for person, balance in self.balances.items():
            assert self.token.balanceOf(person) == balance
        for (owner, spender), left in self.allowed.items():
            assert self.token.allowance(owner, spender) == left
        assert self.token.totalSupply() == sum(self.balances.values())


TestBatchInbox = BatchInboxModel.TestCase
TestBatchInbox.settings = settings(max_examples=25, stateful_step_count=15, deadline=None)
TestCollateral = CollateralModel.TestCase
TestCollateral.settings = settings(max_examples=10, stateful_step_count=15, deadline=None)
