# pragma version 0.4.3
# pragma evm-version prague
"""
@title ExpirySteps
@notice The expiry family of the one-step executor (`rollbook.exchange.expiry`).
        So far `expiry.cover`, the last step of an account's settlement
        (`cover_flat_deficit`): a flat account that owes is set to zero by the
        insurance fund (account 0). Not yet: the expiry queue and the settlement
        price (`expiry.queue`, `expiry.fix`, steps of an oracle report) and the
        payout of an expired option (`expiry.settle`).
"""

import steps

EXPIRY_COVER: constant(uint256) = 227
INSTRUMENTS_AT: constant(uint256) = 231  # the account's u32 count of positions


@pure
@external
def begin(ctx: steps.Context, item: Bytes[steps.MAX_ITEM]) -> steps.Context:
    raise "ExpirySteps: no tx starts with an expiry step"


@pure
@external
def rule(
    ctx: steps.Context,
    item: Bytes[steps.MAX_ITEM],
    leaves: DynArray[steps.Leaf, steps.MAX_READS],
    aux: Bytes[steps.MAX_AUX],
) -> (DynArray[steps.Change, steps.MAX_WRITES], steps.Context):
    if ctx.pc != EXPIRY_COVER:
        raise "ExpirySteps: this expiry step is not executable yet"
    # The settled account: a SettleAccount item (origin, sender, kind 7, account u32).
    assert len(item) == 26, "ExpirySteps: a settlement item is 26 bytes"
    index: uint256 = convert(slice(item, 22, 4), uint256)
    nothing: DynArray[steps.Change, steps.MAX_WRITES] = []
    apath: bytes32 = steps.int_key(b"acct", index)
    account: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, apath)
    assert len(account) > 0, "ExpirySteps: the account is missing"
    balance: int256 = steps.int_at(account, steps.ACCOUNT_BALANCE_AT)
    if index == 0 or steps.u32(account, INSTRUMENTS_AT) > 0 or balance >= 0:
        return nothing, steps.next1(ctx, steps.TX_END, 0)
    fpath: bytes32 = steps.int_key(b"acct", 0)
    fund: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, fpath)
    assert len(fund) > 0, "ExpirySteps: the insurance fund is missing"
    fund_balance: int256 = steps.int_at(fund, steps.ACCOUNT_BALANCE_AT)
    changes: DynArray[steps.Change, steps.MAX_WRITES] = [
        steps.change(apath, account, steps.with_int(account, steps.ACCOUNT_BALANCE_AT, 0)),
        steps.change(fpath, fund, steps.with_int(fund, steps.ACCOUNT_BALANCE_AT, fund_balance + balance)),
    ]
    return changes, steps.next1(ctx, steps.TX_END, 0)
