"""Why a transaction was refused.

Two families, as in execution-specs' ``exceptions.py`` and raiden's separation of
recoverable from broken-precondition errors:

- :class:`ExchangeError` and its subclasses: the *input* is invalid. The tx is a
  no-op, gets a rejection receipt carrying ``code`` (a Deribit-style error code, so the
  API can pass it through) and ``message`` (a sentence a trader understands), and the
  node keeps serving.
- :class:`InvariantError`: a money invariant or a precondition of the STF itself is
  broken. That is a bug, never a user's fault; the node must stop, not continue.
"""

from __future__ import annotations


class ExchangeError(Exception):
    """A tx or request is invalid; it changes nothing."""

    code: int = 11029  # Deribit: invalid_arguments
    name: str = "invalid_arguments"

    def __init__(self, message: str, account: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.account = account
        """The account whose order or margin failed, when one is to blame (the
        sequencer uses it to cancel a stale maker rather than the taker)."""


class MalformedTx(ExchangeError):
    """A field is missing, of the wrong type, or out of its range."""


class BadSignature(ExchangeError):
    """A signature is malformed, high-s, or not by an authorised key."""

    code = 13009
    name = "unauthorized"


class Unauthorized(ExchangeError):
    """The signer or L1 sender has no authority for this tx."""

    code = 13009
    name = "unauthorized"


class WrongOrigin(ExchangeError):
    """An L1-only tx (deposit, governance) arrived from L2, or the reverse."""

    code = 13009
    name = "unauthorized"


class UnknownAccount(ExchangeError):
    """The account index does not exist."""

    code = 10004
    name = "order_not_found"


class UnknownInstrument(ExchangeError):
    """The instrument id is not listed, or no longer active."""

    code = 10013
    name = "instrument_not_found"


class BadNonce(ExchangeError):
    """A sequential nonce (tx nonce, deposit id, oracle time) is not the expected one."""


class NotEnoughFunds(ExchangeError):
    """The account would fall below its initial margin, or a balance below zero."""

    code = 10009
    name = "not_enough_funds"


class OrderExpired(ExchangeError):
    """The order's expiry has passed, or lies beyond the allowed lifetime."""

    code = 10010
    name = "already_closed"


class OrderCancelled(ExchangeError):
    """The order's nonce is below the account's nonce floor or its slot moved on."""

    code = 10010
    name = "already_closed"


class SlotConflict(ExchangeError):
    """Another order already used this (slot, nonce)."""

    code = 10010
    name = "already_closed"


class OverFill(ExchangeError):
    """The fill would exceed the order's signed size."""

    code = 10010
    name = "already_closed"


class FeeTooHigh(ExchangeError):
    """The instrument's fee rate exceeds the max fee the order signed."""


class PriceNotAllowed(ExchangeError):
    """The fill price violates a limit, the tick, or the liquidation band."""

    code = 10011
    name = "price_too_low"


class PostOnlyTaker(ExchangeError):
    """A post-only order was used as the taker."""

    code = 11054
    name = "post_only_reject"


class ReduceOnlyViolation(ExchangeError):
    """A reduce-only order would grow or flip the position."""

    code = 11049
    name = "reduce_only_violation"


class PositionLimit(ExchangeError):
    """The account would hold more positions than the deployment allows."""

    code = 10040
    name = "too_many_positions"


class OracleError(ExchangeError):
    """An oracle report is stale, out of order, under-signed, or moves too far."""

    code = 11098
    name = "oracle_rejected"


class NotLiquidatable(ExchangeError):
    """The account is not below maintenance (or the backstop threshold)."""


class ZkUnprovable(ExchangeError):
    """ZK mode refuses a tx its circuits could not prove (:mod:`rollbook.exchange.zkmode`).

    A tx the STF accepts but no circuit proves would stall a ZK chain for good, so the
    STF refuses it like any other invalid input: the state is unchanged.
    """


class InvariantError(Exception):
    """A money invariant or STF precondition is broken: a bug, never user input."""
