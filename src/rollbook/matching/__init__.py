"""Order book and matching engine (sequencer side, off-consensus).

The sequencer matches orders here and hands the fills to the settlement STF, which
re-checks them on-consensus (ARCHITECTURE.md section 3). The package is pure and
deterministic: integers only, no clock, randomness or I/O, no set or hash ordering.

- :mod:`rollbook.matching.book`: one instrument's price-time book and the two-phase
  matching walk, the :class:`RiskGate` protocol and the :class:`Fill` record.
- :mod:`rollbook.matching.engine`: many instruments, order ids, accounts, order
  types, self-trade prevention, results.
- :mod:`rollbook.matching.errors`: typed input rejections and the invariant error.
"""

from .book import (
    AdmitAll,
    Book,
    BookDelta,
    Depth,
    Fill,
    LevelInfo,
    OrderInfo,
    ProposedFill,
    RiskGate,
    Verdict,
)
from .engine import CancelledOrder, CancelReason, MatchingEngine, OrderStatus, SubmitResult
from .errors import (
    BookInvariantError,
    DuplicateInstrumentError,
    InstrumentExpiredError,
    InvalidInstrumentSpecError,
    InvalidOrderFlagsError,
    InvalidPriceError,
    InvalidSizeError,
    MatchingError,
    PostOnlyWouldCrossError,
    TooManyOpenOrdersError,
    UnknownInstrumentError,
    UnknownOrderError,
)

__all__ = [
    "AdmitAll",
    "Book",
    "BookDelta",
    "BookInvariantError",
    "CancelReason",
    "CancelledOrder",
    "Depth",
    "DuplicateInstrumentError",
    "Fill",
    "InstrumentExpiredError",
    "InvalidInstrumentSpecError",
    "InvalidOrderFlagsError",
    "InvalidPriceError",
    "InvalidSizeError",
    "LevelInfo",
    "MatchingEngine",
    "MatchingError",
    "OrderInfo",
    "OrderStatus",
    "PostOnlyWouldCrossError",
    "ProposedFill",
    "RiskGate",
    "SubmitResult",
    "TooManyOpenOrdersError",
    "UnknownInstrumentError",
    "UnknownOrderError",
    "Verdict",
]
