pragma circom 2.1.0;

// ZK mode's state layout (rollbook.exchange.zkroot): leaves as field elements hashed
// by chained Poseidon, and the state root over the nine components.

include "poseidon.circom";

// hash_elements: h = Poseidon(n, x0..x10), then h = Poseidon(h, next eleven).
template HashElements(n) {
    signal input in[n];
    signal output out;
    var first = n < 11 ? n : 11;
    var calls = 1;
    if (n > 11) {
        calls = 1 + (n - 11 + 10) \ 11;
    }
    component h[calls];
    h[0] = Poseidon(1 + first);
    h[0].inputs[0] <== n;
    for (var i = 0; i < first; i++) {
        h[0].inputs[1 + i] <== in[i];
    }
    var at = first;
    for (var c = 1; c < calls; c++) {
        var size = n - at < 11 ? n - at : 11;
        h[c] = Poseidon(1 + size);
        h[c].inputs[0] <== h[c - 1].out;
        for (var i = 0; i < size; i++) {
            h[c].inputs[1 + i] <== in[at + i];
        }
        at += size;
    }
    out <== h[calls - 1].out;
}

// The state root: Poseidon(accounts, orders, instruments, assets, settlements,
// owners, withdrawals, globals, oracle).
template StateRoot() {
    signal input components[9];
    signal output root;
    component hash = Poseidon(9);
    hash.inputs <== components;
    root <== hash.out;
}

// The places of the state root's components (zkroot.ZkCommitment.components).
function ACCOUNTS() { return 0; }
function ORDERS() { return 1; }
function INSTRUMENTS() { return 2; }
function OWNERS() { return 5; }
function GLOBALS() { return 7; }
function ORACLE() { return 8; }

// An account's 18 values (zkroot.account_values) have a fixed shape: the tag, the
// owner (20 bytes), the balance, four keys (20 bytes each), the nonces, the number of
// positions, the margin mode, the positions' root.
// Checked when enabled (a batch's unused step slot checks nothing).
template AccountShape() {
    signal input enabled;
    signal input values[18];
    (values[0] - 1) * enabled === 0;    // Account's tag
    (values[1] - 20) * enabled === 0;   // the owner is 20 bytes
    (values[4] - 4) * enabled === 0;    // four keys
    (values[5] - 20) * enabled === 0;
    (values[7] - 20) * enabled === 0;
    (values[9] - 20) * enabled === 0;
    (values[11] - 20) * enabled === 0;
}
