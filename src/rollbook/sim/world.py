"""A small world over the real STF, for tests, benchmarks and the devnet session.

Everything here uses the real thing: real secp256k1 keys (derived from labels so
runs are reproducible; in ZK mode the trading keys are Baby Jubjub keys seeded by the
same labels), real signatures in the fixed test domain, and every
state change goes through :func:`rollbook.exchange.stf.apply_tx`. Time is an input:
``World.now`` only moves when :meth:`World.advance` is called.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rollbook.crypto.eddsa import seed_key_id
from rollbook.crypto.eip712 import Domain, typed_digest
from rollbook.crypto.keccak import keccak256
from rollbook.crypto.secp256k1 import private_key_address, sign_digest
from rollbook.exchange.env import SignatureCache, TxEnv
from rollbook.exchange.leaves import Instrument, InstrumentKind
from rollbook.exchange.numeric import QUOTE_ONE, SIZE_ONE
from rollbook.exchange.orders import Order, SignedOrder, sign_order, sign_order_zk
from rollbook.exchange.state import State
from rollbook.exchange.stf import Receipt, apply_tx, genesis
from rollbook.exchange.txs import (
    Deposit,
    ListInstrument,
    ListOptionChain,
    OracleUpdate,
    Origin,
    RegisterKey,
    SetOracle,
    Tx,
    oracle_report_digest,
    sign_owner_tx,
)
from rollbook.exchange.types import OrderFlags, Side

TEST_DOMAIN = Domain("rollbook", "1", 31337, bytes.fromhex("00" * 17 + "0b0b0b"))
GENESIS_TIME = 1_767_225_600  # 2026-01-01T00:00:00Z


def key_from_label(label: str) -> bytes:
    """A reproducible private key from a label (test and devnet keys only)."""
    return keccak256(b"rollbook test key: " + label.encode())


def perp_spec(
    instrument_id: int = 1,
    symbol: str = "ETH_USDC-PERPETUAL",
    asset: int = 1,
    tick: int = 50_000,
    lot: int = 100_000,
    im_ppm: int = 50_000,
    mm_ppm: int = 30_000,
    maker_fee_ppm: int = 100,
    taker_fee_ppm: int = 500,
    liq_fee_ppm: int = 10_000,
    funding_cap_ppm: int = 5_000,
    max_open_interest: int = 10**15,
) -> Instrument:
    """A linear USDC perpetual listing (defaults: ETH, tick $0.05, lot 0.001, IM 5 %)."""
    return Instrument(
        instrument_id,
        symbol,
        InstrumentKind.PERPETUAL,
        asset,
        tick,
        lot,
        im_ppm,
        mm_ppm,
        maker_fee_ppm,
        taker_fee_ppm,
        liq_fee_ppm,
        funding_cap_ppm,
        max_open_interest,
    )


def option_chain(
    first_id: int,
    expiry: int,
    strikes_usd: tuple[int, ...],
    underlying: str = "ETH",
    asset: int = 1,
    tick: int = 100_000,
    lot: int = 1_000_000,
    maker_fee_ppm: int = 200,
    taker_fee_ppm: int = 500,
    liq_fee_ppm: int = 10_000,
    max_open_interest: int = 10**15,
) -> ListOptionChain:
    """A listing of calls and puts at ``strikes_usd`` (defaults: ETH, tick $0.10,
    lot 0.01, Deribit's standard margin fractions 15 % / 10 % / 7.5 %)."""
    return ListOptionChain(
        first_id,
        underlying,
        asset,
        expiry,
        tuple(k * QUOTE_ONE for k in strikes_usd),
        tick,
        lot,
        150_000,
        100_000,
        75_000,
        maker_fee_ppm,
        taker_fee_ppm,
        liq_fee_ppm,
        max_open_interest,
    )


@dataclass
class Trader:
    """An account with its owner key and one trading key."""

    name: str
    index: int
    owner_key: bytes
    trading_key: bytes
    next_nonce: int = 1
    next_slot: int = 0

    @property
    def owner(self) -> bytes:
        return private_key_address(self.owner_key)


@dataclass
class World:
    """A genesis state, an oracle set, listings and traders, over the real STF."""

    domain: Domain = TEST_DOMAIN
    now: int = GENESIS_TIME
    oracle_keys: tuple[bytes, ...] = field(
        default_factory=lambda: tuple(key_from_label(f"oracle-{i}") for i in range(3))
    )
    threshold: int = 2
    governance_key: bytes = field(default_factory=lambda: key_from_label("governance"))
    cache: SignatureCache | None = None
    fast: bool = False
    """Settle common fills with the optimised twin (:mod:`rollbook.exchange.fast`)."""
    zk: bool = False
    """ZK mode: trading keys are Baby Jubjub keys (the trading key is their seed)."""

    def __post_init__(self) -> None:
        self.separator = self.domain.separator()
        self.state: State = genesis(private_key_address(self.governance_key), zk=self.zk)
        self.traders: dict[str, Trader] = {}
        self.next_deposit = 0
        receipt = self.l1(
            SetOracle(
                tuple(private_key_address(k) for k in self.oracle_keys),
                self.threshold,
                60,
                100_000,
            )
        )
        assert receipt.ok, receipt

    # -- applying txs -----------------------------------------------------------------

    def env(self, origin: Origin = Origin.L2, l1_sender: bytes | None = None) -> TxEnv:
        return TxEnv(self.now, self.separator, origin, l1_sender, self.cache, self.fast, self.zk)

    def l2(self, tx: Tx) -> Receipt:
        """Apply a sequenced (L2) tx."""
        return apply_tx(self.state, tx, self.env())

    def l1(self, tx: Tx, sender: bytes | None = None) -> Receipt:
        """Apply a tx derived from L1 (deposits, governance, forced txs)."""
        return apply_tx(self.state, tx, self.env(Origin.L1, sender))

    def advance(self, seconds: int) -> None:
        self.now += seconds

    # -- setting up -------------------------------------------------------------------

    def list_perp(self, *fields: Any, **listing: Any) -> Receipt:
        """List a linear USDC perpetual from L1; arguments as :func:`perp_spec`'s."""
        return self.l1(ListInstrument(perp_spec(*fields, **listing)))

    def add_trader(self, name: str, deposit_usdc: int) -> Trader:
        """Deposit ``deposit_usdc`` whole USDC for a new owner and register a key."""
        owner_key = key_from_label(f"owner-{name}")
        trading_key = key_from_label(f"trading-{name}")
        owner = private_key_address(owner_key)
        receipt = self.deposit(owner, deposit_usdc * QUOTE_ONE)
        assert receipt.ok, receipt
        from rollbook.exchange.accounts import owner_account

        index = owner_account(self.state, owner)
        assert index is not None
        register = RegisterKey(index, 0, self.trading_key_id(trading_key), 0)
        register = RegisterKey(
            index, 0, register.key, 0, sign_owner_tx(register, owner_key, self.separator)
        )
        receipt = self.l2(register)
        assert receipt.ok, receipt
        self.last_key_registration = register
        trader = Trader(name, index, owner_key, trading_key)
        self.traders[name] = trader
        return trader

    def trading_key_id(self, trading_key: bytes) -> bytes:
        """What an account registers for a trading key: its address, or in ZK mode the
        key id of the Baby Jubjub key it seeds."""
        if self.zk:
            return seed_key_id(trading_key)
        return private_key_address(trading_key)

    def deposit(self, owner: bytes, amount: int) -> Receipt:
        receipt = self.l1(Deposit(self.next_deposit, owner, amount))
        if receipt.ok:
            self.next_deposit += 1
        return receipt

    # -- orders and oracle ------------------------------------------------------------

    def order(
        self,
        trader: Trader,
        side: Side,
        price: int,
        size: int,
        instrument: int = 1,
        flags: OrderFlags = OrderFlags.NONE,
        max_fee_ppm: int = 1_000,
        expiry: int | None = None,
        slot: int | None = None,
        nonce: int | None = None,
    ) -> SignedOrder:
        """A signed order; slots and nonces advance per trader unless given."""
        if slot is None:
            slot = trader.next_slot
            trader.next_slot = (trader.next_slot + 1) % 65536
        if nonce is None:
            nonce = trader.next_nonce
            trader.next_nonce += 1
        order = Order(
            trader.index,
            instrument,
            side,
            price,
            size,
            max_fee_ppm,
            self.now + 3600 if expiry is None else expiry,
            slot,
            nonce,
            flags,
        )
        if self.zk:
            return sign_order_zk(order, trader.trading_key, self.separator)
        return sign_order(order, trader.trading_key, self.separator)

    def oracle_update(
        self,
        index_prices: dict[int, int],
        marks: dict[int, int],
        signers: int | None = None,
        vols: dict[int, int] | None = None,
    ) -> OracleUpdate:
        """A report at ``now`` signed by the first ``signers`` oracle keys.

        ``vols`` maps option instruments to implied vols in ppm.
        """
        prices = tuple(sorted(index_prices.items()))
        mark_pairs = tuple(sorted(marks.items()))
        vol_pairs = tuple(sorted((vols or {}).items()))
        digest = oracle_report_digest(self.separator, self.now, prices, mark_pairs, vol_pairs)
        count = self.threshold if signers is None else signers
        sigs = tuple(sign_digest(k, digest) for k in self.oracle_keys[:count])
        return OracleUpdate(self.now, prices, mark_pairs, sigs, vol_pairs)

    def set_prices(
        self, index: int, mark: int | None = None, asset: int = 1, instrument: int = 1
    ) -> Receipt:
        """Publish an index price and a perp mark (default: mark = index)."""
        return self.l2(self.oracle_update({asset: index}, {instrument: mark or index}))

    def owner_signed(self, tx_type: type, trader: Trader, **fields: object) -> Tx:
        """Build an owner tx of ``tx_type`` and sign it with the trader's owner key."""
        unsigned = tx_type(**fields)
        signature = sign_owner_tx(unsigned, trader.owner_key, self.separator)
        return tx_type(**fields, signature=signature)  # type: ignore[no-any-return]

    def digest(self, struct_hash: bytes) -> bytes:
        return typed_digest(self.separator, struct_hash)


def usd(amount: int) -> int:
    """Whole USD to quote units."""
    return amount * QUOTE_ONE


def base(units: int, decimals: int = 0) -> int:
    """``units`` / 10**decimals of the underlying, in base units."""
    return int(units * SIZE_ONE // 10**decimals)
