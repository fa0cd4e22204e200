"""The matching engine's margin gate, backed by the STF itself.

ARCHITECTURE section 3: "the sequencer checks margin at match time against its running
post-fill state with the STF's own functions; a fill the STF rejects is a sequencer
bug." This gate does exactly that: each proposed fill is turned into the STF tx that
will be sequenced (a ``Fill``, or a ``Liquidate`` when the taker is an account being
liquidated) and applied to the sequencer's running state with ``apply_tx``. An
accepted fill is therefore already settled; the tx is queued for the next L2 block. A
rejection blames the maker (cancel that stale order, go on) or the taker (stop). A
repeat fill of an order its slot already holds is recorded without the order's
signature (:func:`rollbook.chain.sequencer.strip_repeats`): the STF never reads it,
and the batch is 64 bytes shorter.

For ``discard`` (a FOK order that could not fill whole) the gate keeps a copy of the
state from before a FOK order's first fill; other orders never discard settled fills.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rollbook.chain.sequencer import strip_repeats
from rollbook.exchange.env import TxEnv
from rollbook.exchange.errors import InvariantError
from rollbook.exchange.orders import SignedOrder
from rollbook.exchange.state import State
from rollbook.exchange.stf import Receipt, apply_tx
from rollbook.exchange.txs import Fill, Liquidate, Tx
from rollbook.exchange.types import OrderFlags
from rollbook.matching.book import Fill as MatchFill
from rollbook.matching.book import Verdict


@dataclass(frozen=True, slots=True)
class LiquidationTaker:
    """The payload of an unsigned liquidation order placed by the sequencer."""

    account: int


@dataclass
class STFGate:
    """A :class:`rollbook.matching.book.RiskGate` that settles fills in the STF."""

    state: State
    env: TxEnv
    pending: list[Tx] = field(default_factory=list)
    rejections: list[Receipt] = field(default_factory=list)
    _provisional: list[Tx] = field(default_factory=list)
    _backup: State | None = None

    def to_tx(self, fill: MatchFill) -> Tx:
        """The STF tx that settles a proposed fill."""
        taker = fill.taker_payload
        maker = fill.maker_payload
        if not isinstance(maker, SignedOrder):
            raise TypeError("maker orders must carry their signed order as payload")
        if isinstance(taker, LiquidationTaker):
            return Liquidate(taker.account, maker, fill.size)
        if not isinstance(taker, SignedOrder):
            raise TypeError("taker orders must carry a signed order or a liquidation marker")
        return Fill(maker, taker, fill.size)

    def check(self, fill: MatchFill) -> Verdict:
        tx = strip_repeats(self.state, self.to_tx(fill))
        if not self._provisional and fill.taker_flags & OrderFlags.FOK:
            # Only a fill-or-kill order can be discarded after some fills settled.
            self._backup = self.state.copy()
        receipt = apply_tx(self.state, tx, self.env)
        if receipt.ok:
            self._provisional.append(tx)
            return Verdict.OK
        self.rejections.append(receipt)
        if receipt.account is not None and receipt.account == fill.maker_account:
            return Verdict.REJECT_MAKER
        return Verdict.REJECT_TAKER

    def commit(self) -> None:
        self.pending.extend(self._provisional)
        self._provisional = []
        self._backup = None

    def discard(self) -> None:
        if self._provisional:
            if self._backup is None:
                raise InvariantError("discard() of settled fills of a non-FOK order")
            self.state.restore(self._backup)
        self._provisional = []
        self._backup = None

    def take_pending(self) -> list[Tx]:
        """The settled txs since the last call (the next block's fills)."""
        txs, self.pending = self.pending, []
        return txs
