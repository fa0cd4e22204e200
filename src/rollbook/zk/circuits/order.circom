pragma circom 2.1.0;

// One order's use in a fill (rollbook.exchange.trading.consume_order), in ZK mode:
// the order is well formed (orders.Order's ranges and flag rules), live (expiry,
// lifetime bound, nonce floor), allows the fee rate, and either continues the order
// its slot holds (same nonce and hash: its stored signer must still be a key of the
// account) or takes the slot (a higher nonce, or the same nonce on an empty slot) with
// an EdDSA-Poseidon signature by a key of the account; it fills at most its size; the
// slot records the fill. The order's hash is Poseidon over the deployment's domain
// and its fields (orders.Order.zk_digest); a key is named by the low 160 bits of
// Poseidon(A) (babyjub.key_id).

include "bitify.circom";
include "comparators.circom";
include "poseidon.circom";
include "signed.circom";
include "state.circom";
include "tree.circom";

function O_ACCOUNT() { return 0; }
function O_INSTRUMENT() { return 1; }
function O_SIDE() { return 2; }
function O_PRICE() { return 3; }
function O_SIZE() { return 4; }
function O_MAX_FEE() { return 5; }
function O_EXPIRY() { return 6; }
function O_SLOT() { return 7; }
function O_NONCE() { return 8; }
function O_FLAGS() { return 9; }
function ORDER_FIELDS() { return 10; }
function ORDER_DEPTH() { return 48; }

// The order's fields are in range (orders.Order.__post_init__); flag bits out. An
// unused slot's zeros pass every check but the non-zero price and size.
template OrderShape() {
    signal input enabled;
    signal input order[ORDER_FIELDS()];
    signal output flags[4];  // post-only, reduce-only, IOC, FOK
    var widths[10] = [32, 16, 1, 64, 64, 32, 64, 16, 32, 4];
    component bits[10];
    for (var f = 0; f < 10; f++) {
        bits[f] = Num2Bits(widths[f]);
        bits[f].in <== order[f];
    }
    component no_price = IsZero();
    no_price.in <== order[O_PRICE()];
    no_price.out * enabled === 0;
    component no_size = IsZero();
    no_size.in <== order[O_SIZE()];
    no_size.out * enabled === 0;
    for (var b = 0; b < 4; b++) {
        flags[b] <== bits[O_FLAGS()].out[b];
    }
    flags[2] * flags[3] === 0;               // not both IOC and FOK
    flags[0] * (flags[2] + flags[3]) === 0;  // post-only is neither
}

// The low 160 bits of Poseidon(ax, ay): a key's 20-byte id.
template KeyId() {
    signal input ax;
    signal input ay;
    signal output id;
    component hash = Poseidon(2);
    hash.inputs[0] <== ax;
    hash.inputs[1] <== ay;
    component bits = Num2Bits_strict();
    bits.in <== hash.out;
    var sum = 0;
    for (var i = 0; i < 160; i++) {
        sum += bits.out[i] * 2 ** i;
    }
    id <== sum;
}

template OrderUse() {
    signal input enabled;        // 0 in a batch's unused step slot: nothing is checked
    signal input order[ORDER_FIELDS()];
    signal input domain[2];
    signal input sig[5];         // A.x, A.y, S, R8.x, R8.y (the identity when continuing)
    signal input exists;         // the slot has a leaf
    signal input slot[8];        // its values (zkroot.leaf_values), zeros when none
    signal input continuing;     // the fill continues the order the slot holds
    signal input keys[4];        // the account's trading keys
    signal input nonce_floor;
    signal input now;
    signal input lifetime;
    signal input fee_ppm;
    signal input fill;
    signal input root;           // the orders tree before
    signal input siblings[ORDER_DEPTH()];
    signal output flags[4];
    signal output new_root;

    exists * (exists - 1) === 0;
    continuing * (continuing - 1) === 0;
    component shape = OrderShape();
    shape.enabled <== enabled;
    shape.order <== order;
    flags <== shape.flags;

    // Live: now <= expiry <= now + lifetime; nonce >= floor; fee <= the signed maximum.
    component live = LessEqThan(64);
    live.in[0] <== now;
    live.in[1] <== order[O_EXPIRY()];
    (1 - live.out) * enabled === 0;
    component bound = LessEqThan(65);
    bound.in[0] <== order[O_EXPIRY()];
    bound.in[1] <== now + lifetime;
    bound.out === 1;
    component floor = LessEqThan(64);
    floor.in[0] <== nonce_floor;
    floor.in[1] <== order[O_NONCE()];
    floor.out === 1;
    component fee = LessEqThan(64);
    fee.in[0] <== fee_ppm;
    fee.in[1] <== order[O_MAX_FEE()];
    fee.out === 1;

    // The slot before: OrderSlot(nonce, filled, hash as [32, first 31 bytes, last
    // byte], signer as [20, id]); a slot with no leaf is OrderSlot().
    exists * (slot[0] - 3) === 0;
    exists * (slot[3] - 32) === 0;
    exists * (slot[6] - 20) === 0;
    for (var i = 0; i < 8; i++) {
        (1 - exists) * slot[i] === 0;
    }
    component old_leaf = HashElements(8);
    old_leaf.in <== slot;

    component digest = Poseidon(12);
    digest.inputs[0] <== domain[0];
    digest.inputs[1] <== domain[1];
    for (var f = 0; f < ORDER_FIELDS(); f++) {
        digest.inputs[2 + f] <== order[f];
    }
    component hash_bits = Num2Bits_strict();
    hash_bits.in <== digest.out;
    var high = 0;
    var low = 0;
    for (var i = 0; i < 8; i++) {
        low += hash_bits.out[i] * 2 ** i;
    }
    for (var i = 8; i < 254; i++) {
        high += hash_bits.out[i] * 2 ** (i - 8);
    }

    // nonce >= the slot's; continuing: the same nonce and hash; taking the slot: a
    // higher nonce, or the same on an empty slot (else the slot is taken: no proof).
    component not_below = LessEqThan(64);
    not_below.in[0] <== slot[1];
    not_below.in[1] <== order[O_NONCE()];
    not_below.out === 1;
    continuing * (order[O_NONCE()] - slot[1]) === 0;
    continuing * (slot[4] * 256 + slot[5] - digest.out) === 0;
    component above = LessThan(64);
    above.in[0] <== slot[1];
    above.in[1] <== order[O_NONCE()];
    component empty = IsZero();
    empty.in <== slot[4] + slot[5];
    signal taking <== (1 - continuing) * (1 - above.out);
    taking * (1 - empty.out) === 0;

    component signed = SignedBy();
    signed.enabled <== (1 - continuing) * enabled;
    signed.ax <== sig[0];
    signed.ay <== sig[1];
    signed.s <== sig[2];
    signed.r8x <== sig[3];
    signed.r8y <== sig[4];
    signed.m <== digest.out;
    component key = KeyId();
    key.ax <== sig[0];
    key.ay <== sig[1];
    signal signer <== key.id + continuing * (slot[7] - key.id);
    signal among[4];
    among[0] <== signer - keys[0];
    for (var k = 1; k < 4; k++) {
        among[k] <== among[k - 1] * (signer - keys[k]);
    }
    among[3] * enabled === 0;

    // filled + fill <= size
    signal filled <== continuing * slot[2] + fill;
    component within = LessEqThan(65);
    within.in[0] <== filled;
    within.in[1] <== order[O_SIZE()];
    within.out === 1;

    component new_leaf = HashElements(8);
    new_leaf.in[0] <== 3;
    new_leaf.in[1] <== order[O_NONCE()];
    new_leaf.in[2] <== filled;
    new_leaf.in[3] <== 32;
    new_leaf.in[4] <== high;
    new_leaf.in[5] <== low;
    new_leaf.in[6] <== 20;
    new_leaf.in[7] <== signer;
    component update = LeafUpdateIf(ORDER_DEPTH());
    update.enabled <== enabled;
    update.old_root <== root;
    update.old_leaf <== old_leaf.out * exists;
    update.new_leaf <== new_leaf.out;
    update.index <== order[O_ACCOUNT()] * 65536 + order[O_SLOT()];
    update.siblings <== siblings;
    new_root <== update.new_root;
}
