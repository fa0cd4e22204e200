# pragma version 0.4.3
# pragma evm-version prague
"""
@title DepositSteps
@notice The deposit family of the one-step executor: the rules of
        `rollbook.exchange.accounts.credit_deposit`, step by step (`deposit` checks
        the id and finds or opens the owner's account, `deposit.open` or
        `deposit.credit` credits it, `deposit.totals` counts it).
"""

import steps

DEPOSIT: constant(uint256) = 32
DEPOSIT_OPEN: constant(uint256) = 33
DEPOSIT_CREDIT: constant(uint256) = 34
DEPOSIT_TOTALS: constant(uint256) = 35

struct DepositTx:
    deposit_id: uint256
    owner: bytes20
    amount: uint256


@pure
@internal
def _decode(item: Bytes[steps.MAX_ITEM]) -> DepositTx:
    assert len(item) == 58, "DepositSteps: a deposit item is 58 bytes"
    return DepositTx(
        deposit_id=convert(slice(item, 22, 8), uint256),
        owner=convert(slice(item, 30, 20), bytes20),
        amount=convert(slice(item, 50, 8), uint256),
    )


@pure
@external
def begin(ctx: steps.Context, item: Bytes[steps.MAX_ITEM]) -> steps.Context:
    """The context after `tx.load`: deposits are derived from L1 only."""
    if convert(slice(item, 0, 1), uint8) != steps.ORIGIN_L1:
        return steps.refuse(ctx, steps.CODE_UNAUTHORIZED, steps.E_WRONG_ORIGIN)
    out: steps.Context = ctx
    out.pc = DEPOSIT
    return out


@pure
@external
def rule(
    ctx: steps.Context,
    item: Bytes[steps.MAX_ITEM],
    leaves: DynArray[steps.Leaf, steps.MAX_READS],
    aux: Bytes[steps.MAX_AUX],
) -> (DynArray[steps.Change, steps.MAX_WRITES], steps.Context):
    d: DepositTx = self._decode(item)
    gpath: bytes32 = steps.globals_path()
    if ctx.pc == DEPOSIT:
        nothing: DynArray[steps.Change, steps.MAX_WRITES] = []
        glob: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, gpath)
        assert len(glob) > 0, "DepositSteps: the globals leaf is missing"
        if d.deposit_id != convert(steps.int_at(glob, steps.field_at(steps.G_NEXT_DEPOSIT)), uint256):
            return nothing, steps.fail(ctx, steps.CODE_INVALID, steps.E_BAD_NONCE)
        opath: bytes32 = steps.owner_path(d.owner)
        index_leaf: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, opath)
        if len(index_leaf) > 0:
            return nothing, steps.next1(ctx, DEPOSIT_CREDIT, steps.int_at(index_leaf, 2))
        at: uint256 = steps.field_at(steps.G_NEXT_ACCOUNT)
        fresh: int256 = steps.int_at(glob, at)
        opened: DynArray[steps.Change, steps.MAX_WRITES] = [
            steps.change(gpath, glob, steps.with_int(glob, at, fresh + 1)),
            steps.change(opath, b"", concat(b"\x09\x02", convert(fresh, bytes32))),
        ]
        return opened, steps.next1(ctx, DEPOSIT_OPEN, fresh)
    if ctx.pc == DEPOSIT_TOTALS:
        glob: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, gpath)
        assert len(glob) > 0, "DepositSteps: the globals leaf is missing"
        new: Bytes[steps.MAX_LEAF] = steps.with_int(glob, steps.field_at(steps.G_NEXT_DEPOSIT), convert(d.deposit_id + 1, int256))
        at: uint256 = steps.field_at(steps.G_TOTAL_DEPOSITS)
        new = steps.with_int(new, at, steps.int_at(glob, at) + convert(d.amount, int256))
        return [steps.change(gpath, glob, new)], steps.next1(ctx, steps.TX_END, 0)
    assert ctx.pc == DEPOSIT_OPEN or ctx.pc == DEPOSIT_CREDIT, "DepositSteps: not a deposit step"
    apath: bytes32 = steps.int_key(b"acct", convert(ctx.carry[0], uint256))
    old: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, apath)
    new: Bytes[steps.MAX_LEAF] = b""
    if ctx.pc == DEPOSIT_OPEN:
        new = steps.new_account(d.owner, convert(d.amount, int256))
    else:
        assert len(old) > 0, "DepositSteps: the account is missing"
        new = steps.with_int(old, steps.ACCOUNT_BALANCE_AT, steps.int_at(old, steps.ACCOUNT_BALANCE_AT) + convert(d.amount, int256))
    return [steps.change(apath, old, new)], steps.next1(ctx, DEPOSIT_TOTALS, 0)
