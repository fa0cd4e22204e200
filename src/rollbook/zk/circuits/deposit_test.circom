pragma circom 2.1.0;

// A test circuit for Deposit: the public input is
// Poseidon(old root, new root, deposit id, owner, amount).

include "deposit.circom";

template DepositTest() {
    signal input components[9];
    signal input fresh;
    signal input account[18];
    signal input index;
    signal input account_siblings[32];
    signal input owner_siblings[160];
    signal input globals[12];
    signal input deposit_id;
    signal input owner;
    signal input amount;
    signal output claim;

    component deposit = Deposit();
    deposit.components <== components;
    deposit.fresh <== fresh;
    deposit.account <== account;
    deposit.index <== index;
    deposit.account_siblings <== account_siblings;
    deposit.owner_siblings <== owner_siblings;
    deposit.globals <== globals;
    deposit.deposit_id <== deposit_id;
    deposit.owner <== owner;
    deposit.amount <== amount;

    component hash = Poseidon(5);
    hash.inputs[0] <== deposit.old_root;
    hash.inputs[1] <== deposit.new_root;
    hash.inputs[2] <== deposit_id;
    hash.inputs[3] <== owner;
    hash.inputs[4] <== amount;
    claim <== hash.out;
}

component main = DepositTest();
