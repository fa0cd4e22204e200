pragma circom 2.1.0;

// A batch of fills (rollbook.zk.batch): S step slots, each a fill or unused, from
// the state root before to the root after, and the batch's public data, bound by the
// one public input claim = sha256(old root || new root || sha256(data)) mod r.
//
// data = header (37 bytes, rollbook.zk.batchdata: no L1 inputs, no withdrawals)
//        || kind (1 byte: 1, fills) || time (u64) || domain (32 bytes)
//        || S records of 16 bytes
// A record packs, most significant bit first: the maker's side (1 bit), the
// instrument (7), the maker (28), the taker (28), the size in lots (32) and the price
// in ticks (32). An unused slot's record is all zeros: a follower skips it.

include "claim.circom";
include "fill.circom";

function HEADER_BYTES() { return 37; }
function RECORD_BYTES() { return 16; }
function BATCH_DATA_BYTES(S) { return HEADER_BYTES() + 1 + 8 + 32 + RECORD_BYTES() * S; }

// A number's bits, most significant first (it must fit in n bits).
template BitsBE(n) {
    signal input in;
    signal output out[n];
    component bits = Num2Bits(n);
    bits.in <== in;
    for (var i = 0; i < n; i++) {
        out[i] <== bits.out[n - 1 - i];
    }
}

template FillBatch(S, N, K) {
    signal input components[9];
    signal input listed[K];
    signal input cache[K][INSTRUMENT_VALUES()];
    signal input globals[GLOBAL_VALUES()];
    signal input oracle[ORACLE_VALUES()];
    signal input fund[ACCOUNT_VALUES()];
    signal input fund_siblings[32];
    signal input header[HEADER_BYTES()];
    signal input now;
    signal input domain[2];
    signal input size[S];
    signal input order[S][2][ORDER_FIELDS()];
    signal input sig[S][2][5];
    signal input slot_exists[S][2];
    signal input slot[S][2][8];
    signal input continuing[S][2];
    signal input slot_siblings[S][2][ORDER_DEPTH()];
    signal input account[S][2][ACCOUNT_VALUES()];
    signal input account_siblings[S][2][32];
    signal input list[S][2][N][5];
    signal input t[S][2];
    signal output claim;

    component before = StateRoot();
    before.components <== components;
    component open = OpenWorking(K);
    open.now <== now;
    open.components <== components;
    open.listed <== listed;
    open.cache <== cache;
    open.globals <== globals;
    open.oracle <== oracle;
    component shape = AccountShape();
    shape.enabled <== 1;
    shape.values <== fund;

    // The fills, one after the other through the working state.
    component used[S];
    component fill[S];
    for (var s = 0; s < S; s++) {
        used[s] = IsZero();
        used[s].in <== size[s];
        fill[s] = FillStep(N, K);
        fill[s].enabled <== 1 - used[s].out;
        if (s == 0) {
            fill[s].accounts <== components[ACCOUNTS()];
            fill[s].orders <== components[ORDERS()];
            fill[s].cache <== cache;
            fill[s].globals <== globals;
            fill[s].fund <== fund[A_BALANCE()];
        } else {
            fill[s].accounts <== fill[s - 1].new_accounts;
            fill[s].orders <== fill[s - 1].new_orders;
            fill[s].cache <== fill[s - 1].new_cache;
            fill[s].globals <== fill[s - 1].new_globals;
            fill[s].fund <== fill[s - 1].new_fund;
        }
        fill[s].staleness <== open.staleness;
        fill[s].now <== now;
        fill[s].domain <== domain;
        fill[s].size <== size[s];
        fill[s].order <== order[s];
        fill[s].sig <== sig[s];
        fill[s].slot_exists <== slot_exists[s];
        fill[s].slot <== slot[s];
        fill[s].continuing <== continuing[s];
        fill[s].slot_siblings <== slot_siblings[s];
        fill[s].account <== account[s];
        fill[s].account_siblings <== account_siblings[s];
        fill[s].list <== list[s];
        fill[s].t <== t[s];
    }

    // The fund's account (index 0), once, after every fill; then the new root.
    component fund_old = HashElements(ACCOUNT_VALUES());
    fund_old.in <== fund;
    component fund_new = HashElements(ACCOUNT_VALUES());
    for (var i = 0; i < ACCOUNT_VALUES(); i++) {
        fund_new.in[i] <== i == A_BALANCE() ? fill[S - 1].new_fund : fund[i];
    }
    component fund_update = LeafUpdate(32);
    fund_update.old_root <== fill[S - 1].new_accounts;
    fund_update.old_leaf <== fund_old.out;
    fund_update.new_leaf <== fund_new.out;
    fund_update.index <== 0;
    fund_update.siblings <== fund_siblings;
    component instruments = InstrumentsRoot(K);
    instruments.listed <== listed;
    instruments.cache <== fill[S - 1].new_cache;
    component new_globals = HashElements(GLOBAL_VALUES());
    new_globals.in <== fill[S - 1].new_globals;
    component after = StateRoot();
    for (var i = 0; i < 9; i++) {
        if (i == ACCOUNTS()) {
            after.components[i] <== fund_update.new_root;
        } else if (i == ORDERS()) {
            after.components[i] <== fill[S - 1].new_orders;
        } else if (i == INSTRUMENTS()) {
            after.components[i] <== instruments.root;
        } else if (i == GLOBALS()) {
            after.components[i] <== new_globals.out;
        } else {
            after.components[i] <== components[i];
        }
    }

    // The data: the header (version 1, no L1 inputs, no withdrawals), the fills' kind,
    // the time, the domain, the records.
    var bits = 8 * BATCH_DATA_BYTES(S);
    signal data[bits];
    header[0] === 1;
    header[25] === 0;
    header[26] === 0;
    header[35] === 0;
    header[36] === 0;
    component header_bits = BytesBitsBE(HEADER_BYTES());
    header_bits.in <== header;
    for (var i = 0; i < 8 * HEADER_BYTES(); i++) {
        data[i] <== header_bits.out[i];
    }
    var at = 8 * HEADER_BYTES();
    for (var i = 0; i < 8; i++) {
        data[at + i] <== i == 7 ? 1 : 0;  // kind 1: fills
    }
    at += 8;
    component time_bits = BitsBE(64);
    time_bits.in <== now;
    for (var i = 0; i < 64; i++) {
        data[at + i] <== time_bits.out[i];
    }
    at += 64;
    component domain_bits[2];
    for (var h = 0; h < 2; h++) {
        domain_bits[h] = BitsBE(128);
        domain_bits[h].in <== domain[h];
        for (var i = 0; i < 128; i++) {
            data[at + i] <== domain_bits[h].out[i];
        }
        at += 128;
    }
    var widths[6] = [1, 7, 28, 28, 32, 32];
    component field_bits[S][6];
    for (var s = 0; s < S; s++) {
        // side, instrument, maker, taker, lots, ticks; all zeros in an unused slot
        var fields[6] = [fill[s].record[3], fill[s].record[0], fill[s].record[1],
                         fill[s].record[2], fill[s].ticks_lots[1], fill[s].ticks_lots[0]];
        for (var f = 0; f < 6; f++) {
            used[s].out * fields[f] === 0;
            field_bits[s][f] = BitsBE(widths[f]);
            field_bits[s][f].in <== fields[f];
            for (var i = 0; i < widths[f]; i++) {
                data[at + i] <== field_bits[s][f].out[i];
            }
            at += widths[f];
        }
    }

    component hash = ClaimOfBits(bits);
    hash.old_root <== before.root;
    hash.new_root <== after.root;
    hash.data <== data;
    claim <== hash.claim;
}
