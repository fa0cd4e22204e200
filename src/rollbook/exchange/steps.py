"""The numbering of the STF's steps (docs/design/fraud-proofs.md section 2).

Each step the STF declares (``State.step``) has a number, its ``pc``: the one-step
executor on L1 dispatches on it, and a step that hands control to another (a margin
check returning to the withdrawal that asked for it) carries the number of the step
to return to. The numbering is consensus; :mod:`rollbook.chain.trace` builds the
contexts from it.
"""

from __future__ import annotations

from rollbook.exchange.errors import InvariantError

TX_LOAD = "tx.load"
TX_END = "tx.end"
SEAL = "block.seal"
BLOCK_BEGIN = "block.begin"

FAMILY_SIZE = 32
FAMILIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("framing", (TX_LOAD, TX_END, SEAL)),
    ("deposit", ("deposit", "deposit.open", "deposit.credit", "deposit.totals")),
    (
        "accounts",
        (
            "auth.owner",
            "debit",
            "withdraw.record",
            "withdraw.leaf",
            "transfer.recipient",
            "transfer.credit",
            "nonce_floor",
        ),
    ),
    (
        "margin",
        (
            "margin.begin",
            "margin.settle_accumulate",
            "margin.accumulate",
            "margin.compare",
            "settle.begin",
            "settle.position",
        ),
    ),
    ("trading", ("fill.instrument", "order.maker", "order.taker", "fill.apply", "fill.book")),
    (
        "liquidation",
        (
            "liq.instrument",
            "liq.book",
            "liq.penalty",
            "backstop.check",
            "backstop.mark",
            "backstop.flat",
            "backstop.move",
            "backstop.book",
            "backstop.debt",
            "forced_close.auth",
            "forced_close.mark",
            "forced_close.flat",
            "forced_close.move",
            "forced_close.book",
            "liq.after",
        ),
    ),
    ("oracle", ("oracle.verify", "oracle.index", "oracle.mark", "oracle.funding", "oracle.option")),
    ("expiry", ("expiry.queue", "expiry.fix", "expiry.settle", "expiry.cover")),
    (
        "governance",
        ("gov.list", "gov.expiry", "gov.list_option", "gov.params", "gov.oracle", "gov.risk"),
    ),
)
"""Every step the executor knows, by family. A step's ``pc`` is ``FAMILY_SIZE ×
family index + its index in the family (+ 1 for framing)``; the executor sends each
family's steps to the contract that holds its rules. The numbering is consensus."""

STEP_IDS = {
    name: FAMILY_SIZE * family + index + (1 if family == 0 else 0)
    for family, (_, names) in enumerate(FAMILIES)
    for index, name in enumerate(names)
}
STEP_NAMES = {pc: name for name, pc in STEP_IDS.items()}


def step_id(name: str) -> int:
    try:
        return STEP_IDS[name]
    except KeyError:
        raise InvariantError(f"step {name!r} has no executor id (add it to FAMILIES)") from None
