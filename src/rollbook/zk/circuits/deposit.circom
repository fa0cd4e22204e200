pragma circom 2.1.0;

// A deposit to an owner's existing account (rollbook.exchange.accounts.credit_deposit,
// the credit path): the deposit is the next one, the account is the owner's, its
// balance and the globals' deposit counter and total grow by the amount.

include "bitify.circom";
include "state.circom";
include "tree.circom";

template DepositCredit() {
    signal input components[8];   // the state before
    signal input account[19];     // zkroot.account_values of the account before
    signal input index;
    signal input siblings[32];
    signal input globals[12];     // zkroot.leaf_values of the globals before
    signal input deposit_id;
    signal input owner;
    signal input amount;
    signal output old_root;
    signal output new_root;

    component before = StateRoot();
    before.components <== components;
    old_root <== before.root;

    component shape = AccountShape();
    shape.values <== account;
    globals[0] === 7;                 // Globals' tag
    component old_globals = HashElements(12);
    old_globals.in <== globals;
    old_globals.out === components[6];

    deposit_id === globals[2];        // next_deposit_id
    owner === account[2];             // the owner's account
    component amount_bits = Num2Bits(64);
    amount_bits.in <== amount;

    component old_leaf = HashElements(19);
    old_leaf.in <== account;
    component new_leaf = HashElements(19);
    for (var i = 0; i < 19; i++) {
        new_leaf.in[i] <== i == 3 ? account[i] + amount : account[i];
    }
    component update = LeafUpdate(32);
    update.old_root <== components[0];
    update.old_leaf <== old_leaf.out;
    update.new_leaf <== new_leaf.out;
    update.index <== index;
    update.siblings <== siblings;

    component new_globals = HashElements(12);
    for (var i = 0; i < 12; i++) {
        new_globals.in[i] <== i == 2 ? globals[i] + 1 : (i == 5 ? globals[i] + amount : globals[i]);
    }

    component after = StateRoot();
    for (var i = 0; i < 8; i++) {
        after.components[i] <== i == 0 ? update.new_root : (i == 6 ? new_globals.out : components[i]);
    }
    new_root <== after.root;
}
