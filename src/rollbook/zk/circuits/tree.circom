pragma circom 2.1.0;

// ZK mode's fixed-depth Poseidon tree (rollbook.commitment.poseidon_tree): a node is
// Poseidon(left, right); bit i of the index says whether the path's node at height i
// is a right child.

include "bitify.circom";
include "poseidon.circom";

// The root a leaf and its siblings give, for an index below 2^depth.
template PathRoot(depth) {
    signal input leaf;
    signal input index;
    signal input siblings[depth];
    signal output root;

    component bits = Num2Bits(depth);
    bits.in <== index;

    signal node[depth + 1];
    signal swap[depth];
    component hash[depth];
    node[0] <== leaf;
    for (var h = 0; h < depth; h++) {
        // right child: (sibling, node); left child: (node, sibling)
        swap[h] <== bits.out[h] * (siblings[h] - node[h]);
        hash[h] = Poseidon(2);
        hash[h].inputs[0] <== node[h] + swap[h];
        hash[h].inputs[1] <== siblings[h] - swap[h];
        node[h + 1] <== hash[h].out;
    }
    root <== node[depth];
}

// One leaf changes from old to new: both roots are computed over the same path, so
// nothing else in the tree can change.
template LeafUpdate(depth) {
    signal input old_root;
    signal input old_leaf;
    signal input new_leaf;
    signal input index;
    signal input siblings[depth];
    signal output new_root;

    component before = PathRoot(depth);
    before.leaf <== old_leaf;
    before.index <== index;
    before.siblings <== siblings;
    before.root === old_root;

    component after = PathRoot(depth);
    after.leaf <== new_leaf;
    after.index <== index;
    after.siblings <== siblings;
    new_root <== after.root;
}

// LeafUpdate when enabled; when not, nothing is checked and the root stays.
template LeafUpdateIf(depth) {
    signal input enabled;
    signal input old_root;
    signal input old_leaf;
    signal input new_leaf;
    signal input index;
    signal input siblings[depth];
    signal output new_root;

    component before = PathRoot(depth);
    before.leaf <== old_leaf;
    before.index <== index;
    before.siblings <== siblings;
    (before.root - old_root) * enabled === 0;

    component after = PathRoot(depth);
    after.leaf <== new_leaf;
    after.index <== index;
    after.siblings <== siblings;
    new_root <== old_root + enabled * (after.root - old_root);
}
