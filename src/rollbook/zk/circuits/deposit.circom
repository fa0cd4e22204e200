pragma circom 2.1.0;

// A deposit from L1 (rollbook.exchange.accounts.credit_deposit): the deposit is the
// next one; the owner's existing account is credited, or, when the owner is new
// (`fresh`), an account opens at the next index with the amount and the owner tree
// records it. The globals' counters and total grow. Both paths are in every deposit
// slot (a circuit is fixed), so a deposit costs the owner tree's 160 levels either
// way; in the credit path that path proves the owner's index too.

include "bitify.circom";
include "state.circom";
include "tree.circom";

// zkroot.positions_hash of no positions: a new account's.
function EMPTY_POSITIONS() {
    return 9360644637339281731404031769602981527812191049496204724644500187104347980883;
}

template Deposit() {
    signal input components[9];   // the state before
    signal input fresh;           // 1: the owner has no account yet
    signal input account[18];     // zkroot.account_values of the account (credit path)
    signal input index;           // the owner's account, or the next index (fresh)
    signal input account_siblings[32];
    signal input owner_siblings[160];
    signal input globals[12];     // zkroot.leaf_values of the globals before
    signal input deposit_id;
    signal input owner;
    signal input amount;
    signal output old_root;
    signal output new_root;

    fresh * (fresh - 1) === 0;
    component before = StateRoot();
    before.components <== components;
    old_root <== before.root;

    globals[0] === 7;                 // Globals' tag
    component old_globals = HashElements(12);
    old_globals.in <== globals;
    old_globals.out === components[GLOBALS()];
    deposit_id === globals[2];        // next_deposit_id
    component amount_bits = Num2Bits(64);
    amount_bits.in <== amount;

    // The owner tree: an OwnerIndex(index) leaf at the owner's address, new or there.
    component owner_leaf = HashElements(2);
    owner_leaf.in[0] <== 9;           // OwnerIndex's tag
    owner_leaf.in[1] <== index;
    component owners = LeafUpdate(160);
    owners.old_root <== components[OWNERS()];
    owners.old_leaf <== (1 - fresh) * owner_leaf.out;
    owners.new_leaf <== owner_leaf.out;
    owners.index <== owner;
    owners.siblings <== owner_siblings;
    fresh * (index - globals[1]) === 0;  // a new account takes next_account

    // The account: credited, or opened where there was none.
    component shape = AccountShape();
    shape.enabled <== 1;
    for (var i = 0; i < 18; i++) {
        // the credit path's values; a fresh deposit's are the new account's below
        shape.values[i] <== account[i] + fresh * (AccountShapeFill(i) - account[i]);
    }
    (1 - fresh) * (owner - account[2]) === 0;
    component old_leaf = HashElements(18);
    old_leaf.in <== account;
    component credited = HashElements(18);
    for (var i = 0; i < 18; i++) {
        credited.in[i] <== i == 3 ? account[i] + amount : account[i];
    }
    component opened = HashElements(18);
    for (var i = 0; i < 18; i++) {
        if (i == 2) {
            opened.in[i] <== owner;
        } else if (i == 3) {
            opened.in[i] <== amount;
        } else {
            opened.in[i] <== NewAccountValue(i);
        }
    }
    component accounts = LeafUpdate(32);
    accounts.old_root <== components[ACCOUNTS()];
    accounts.old_leaf <== (1 - fresh) * old_leaf.out;
    accounts.new_leaf <== credited.out + fresh * (opened.out - credited.out);
    accounts.index <== index;
    accounts.siblings <== account_siblings;

    component new_globals = HashElements(12);
    for (var i = 0; i < 12; i++) {
        if (i == 1) {
            new_globals.in[i] <== globals[i] + fresh;      // next_account
        } else if (i == 2) {
            new_globals.in[i] <== globals[i] + 1;          // next_deposit_id
        } else if (i == 5) {
            new_globals.in[i] <== globals[i] + amount;     // total_deposits
        } else {
            new_globals.in[i] <== globals[i];
        }
    }

    component after = StateRoot();
    for (var i = 0; i < 9; i++) {
        if (i == ACCOUNTS()) {
            after.components[i] <== accounts.new_root;
        } else if (i == OWNERS()) {
            after.components[i] <== owners.new_root;
        } else if (i == GLOBALS()) {
            after.components[i] <== new_globals.out;
        } else {
            after.components[i] <== components[i];
        }
    }
    new_root <== after.root;
}

// A new account's values but its owner (2) and balance (3): Account(owner, amount)
// with no keys, nonces or positions (zkroot.account_values).
function NewAccountValue(i) {
    var values[18] = [1, 20, 0, 0, 4, 20, 0, 20, 0, 20, 0, 20, 0, 0, 0, 0, 0, 0];
    values[17] = EMPTY_POSITIONS();
    return values[i];
}

// What AccountShape checks, for a fresh deposit's placeholder values.
function AccountShapeFill(i) {
    return NewAccountValue(i);
}
