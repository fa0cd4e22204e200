pragma circom 2.1.0;

// A test circuit for LeafUpdate (depth 8): the public input is
// Poseidon(old root, new root, index, new leaf).

include "poseidon.circom";
include "tree.circom";

template TreeUpdate(depth) {
    signal input old_root;
    signal input old_leaf;
    signal input new_leaf;
    signal input index;
    signal input siblings[depth];
    signal output claim;

    component update = LeafUpdate(depth);
    update.old_root <== old_root;
    update.old_leaf <== old_leaf;
    update.new_leaf <== new_leaf;
    update.index <== index;
    update.siblings <== siblings;

    component hash = Poseidon(4);
    hash.inputs[0] <== old_root;
    hash.inputs[1] <== update.new_root;
    hash.inputs[2] <== index;
    hash.inputs[3] <== new_leaf;
    claim <== hash.out;
}

component main = TreeUpdate(8);
