pragma circom 2.1.0;

// A perpetual fill between two signed orders (rollbook.exchange.trading.settle_fill),
// in ZK mode, with both accounts' margin checks over at most N positions.
//
// A batch holds its K instruments (instrument id = place, below K) as signals from
// its start to its end (`cache`), as it holds the globals and the insurance fund's
// balance: a fill changes its instrument's open interest and pools, and settling an
// account's positions pays into their instruments' pools, so opening each instrument
// by a Merkle path at every fill would cost more than the fill. FillStep moves this
// working state and the accounts and orders trees through one fill; the batch circuit
// (batch.circom) opens and closes it once per batch.
//
// Within a fill each side is settled whole before its trade: its positions' lazy
// funding and loss are the same whenever in the fill they are paid (no index moves in
// a fill), so the sums are the STF's, which settles the traded position before the
// trade and the others in the margin check. In ZK mode the insurance fund does not
// trade by orders (it trades in liquidations), accounts are in standard margin mode,
// and every instrument is a perpetual (docs/design/zk.md).

include "arith.circom";
include "margin.circom";
include "order.circom";
include "state.circom";
include "tree.circom";

function A_BALANCE() { return 3; }
function A_NONCE_FLOOR() { return 13; }
function A_POSITIONS() { return 15; }
function A_PORTFOLIO() { return 16; }
function A_POSITION_ROOT() { return 17; }
function ACCOUNT_VALUES() { return 18; }
function G_FEES() { return 4; }
function G_MAX_POSITIONS() { return 7; }
function G_LIFETIME() { return 8; }
function GLOBAL_VALUES() { return 12; }
function OR_LAST_REPORT() { return 3; }
function OR_STALENESS() { return 4; }
function ORACLE_VALUES() { return 6; }

// A key's place among an account's values: 6, 8, 10, 12.
function A_KEY(k) { return 6 + 2 * k; }

// One side of a fill: settle the account's positions, trade, check its margin, and
// write the account back. `list` holds the positions in the account's order as
// (instrument, size, cost, funding snapshot, loss snapshot), zeros past its length;
// `t` is the traded instrument's place (the list's length when it is not held).
template FillSide(N, K) {
    signal input enabled;     // 0 in a batch's unused step slot: nothing is checked
    signal input root;
    signal input index;
    signal input siblings[32];
    signal input account[ACCOUNT_VALUES()];
    signal input list[N][5];
    signal input t;
    signal input cache[K][INSTRUMENT_VALUES()];
    signal input traded;
    signal input traded_priced[PRICED()];
    signal input delta;       // the size it trades, signed
    signal input flow;        // notional(price, delta), signed
    signal input fee;
    signal input price;
    signal input reduce_only;
    signal input max_positions;
    signal input now;
    signal input staleness;
    signal output new_root;
    signal output pool_delta[K];
    signal output long_change;  // max(new, 0) - max(old, 0)

    component shape = AccountShape();
    shape.enabled <== enabled;
    shape.values <== account;
    account[A_PORTFOLIO()] === 0;
    signal n <== account[A_POSITIONS()];
    // An unused slot holds no position: without this its made-up positions would pay
    // made-up settlements into the pools, which are not gated.
    n * (1 - enabled) === 0;
    component fits = LessEqThan(8);
    fits.in[0] <== n;
    fits.in[1] <== N;
    fits.out === 1;

    component active[N];
    component at_t[N];
    signal after[N + 1];   // after[i + 1] = 1 when t <= i
    after[0] <== 0;
    for (var i = 0; i < N; i++) {
        active[i] = LessThan(8);
        active[i].in[0] <== i;
        active[i].in[1] <== n;
        at_t[i] = IsEqual();
        at_t[i].in[0] <== i;
        at_t[i].in[1] <== t;
        after[i + 1] <== after[i] + at_t[i].out;
    }
    after[N] === 1;  // t < N

    // Each position: its instrument (a perpetual), its settlement, its contribution.
    component pick[N];
    component settle[N];
    component contribution[N];
    component fresh[N];
    component same[N];
    signal payment[N];
    signal sums[N + 1][4];  // payments, value, IM, MM
    signal traded_here[N];
    signal traded_old[N + 1][4];  // size, cost, value... of the held traded position
    sums[0][0] <== 0;
    sums[0][1] <== 0;
    sums[0][2] <== 0;
    sums[0][3] <== 0;
    traded_old[0][0] <== 0;
    traded_old[0][1] <== 0;
    traded_old[0][2] <== 0;
    traded_old[0][3] <== 0;
    signal held[N];
    signal other[N];
    signal c_value[N];
    signal c_initial[N];
    signal c_maintenance[N];
    for (var i = 0; i < N; i++) {
        pick[i] = PickInstrument(K);
        pick[i].enabled <== active[i].out;
        pick[i].id <== list[i][0];
        pick[i].cache <== cache;
        active[i].out * (pick[i].out[7] - PERPETUAL()) === 0;

        settle[i] = Settle();
        settle[i].size <== list[i][1];
        settle[i].funding_snap <== list[i][3];
        settle[i].loss_snap <== list[i][4];
        settle[i].funding <== pick[i].out[4];
        settle[i].loss_long <== pick[i].out[5];
        settle[i].loss_short <== pick[i].out[6];
        payment[i] <== settle[i].payment * active[i].out;

        contribution[i] = Contribution();
        contribution[i].size <== list[i][1];
        contribution[i].neg <== settle[i].neg;
        contribution[i].mark <== pick[i].out[0];
        contribution[i].im_ppm <== pick[i].out[2];
        contribution[i].mm_ppm <== pick[i].out[3];
        c_value[i] <== contribution[i].value * active[i].out;
        c_initial[i] <== contribution[i].initial * active[i].out;
        c_maintenance[i] <== contribution[i].maintenance * active[i].out;
        sums[i + 1][0] <== sums[i][0] + payment[i];
        sums[i + 1][1] <== sums[i][1] + c_value[i];
        sums[i + 1][2] <== sums[i][2] + c_initial[i];
        sums[i + 1][3] <== sums[i][3] + c_maintenance[i];

        // The traded instrument is at t and nowhere else in the list.
        held[i] <== at_t[i].out * active[i].out;
        held[i] * (list[i][0] - traded) === 0;
        same[i] = IsEqual();
        same[i].in[0] <== list[i][0];
        same[i].in[1] <== traded;
        other[i] <== active[i].out * (1 - at_t[i].out);
        other[i] * same[i].out === 0;
        traded_old[i + 1][0] <== traded_old[i][0] + held[i] * list[i][1];
        traded_old[i + 1][1] <== traded_old[i][1] + held[i] * list[i][2];
        traded_old[i + 1][2] <== traded_old[i][2] + at_t[i].out * c_value[i];
        traded_old[i + 1][3] <== traded_old[i][3] + at_t[i].out * c_initial[i];

        // A position that stays must have a fresh mark (the traded one: below).
        fresh[i] = FreshMark();
        fresh[i].enabled <== other[i];
        fresh[i].mark_time <== pick[i].out[1];
        fresh[i].now <== now;
        fresh[i].staleness <== staleness;
    }
    signal old <== traded_old[N][0];
    signal cost_old <== traded_old[N][1];
    // Not held: t is the list's length (where a new position goes).
    component held_sum = Sum(N);
    held_sum.in <== held;
    (1 - held_sum.out) * (t - n) === 0;

    // The trade (positions.change_position).
    signal new <== old + delta;
    component old_sign = SignAbs(64);
    old_sign.in <== old;
    component new_sign = SignAbs(64);
    new_sign.in <== new;
    component old_zero = IsZero();
    old_zero.in <== old;
    component new_zero = IsZero();
    new_zero.in <== new;
    signal opening <== old_zero.out;  // delta != 0, so new != 0
    signal closing <== (1 - old_zero.out) * new_zero.out;
    signal both <== (1 - old_zero.out) * (1 - new_zero.out);
    signal signs <== old_sign.neg * new_sign.neg;
    signal flipped <== both * (old_sign.neg + new_sign.neg - 2 * signs);
    component grows = LessThan(65);
    grows.in[0] <== old_sign.abs;
    grows.in[1] <== new_sign.abs;
    signal same_side <== both - flipped;
    signal growing <== same_side * grows.out;
    signal reducing <== same_side - growing;
    // A new position needs room under the bound.
    component room = LessThan(16);
    room.in[0] <== n;
    room.in[1] <== max_positions;
    opening * (1 - room.out) === 0;
    // Reduce-only: the position shrinks toward zero without flipping.
    reduce_only * (1 - closing - reducing) === 0;

    component cost_at = FloorDiv(128, SIZE_ONE());
    cost_at.in <== price * new;
    component cost_cut = FloorDivBy(174, 65);
    cost_cut.in <== cost_old * new_sign.abs;
    cost_cut.d <== old_sign.abs + old_zero.out;
    signal restart <== (opening + flipped) * cost_at.q;
    signal grown <== growing * (cost_old + flow);
    signal cut <== reducing * cost_cut.q;
    signal cost_new <== restart + grown + cut;

    signal cash <== -flow - fee;
    signal balance <== account[A_BALANCE()] - sums[N][0] + cash;

    // The traded position's contribution before (from the list) and after.
    component traded_after = Contribution();
    traded_after.size <== new;
    traded_after.neg <== new_sign.neg;
    traded_after.mark <== traded_priced[0];
    traded_after.im_ppm <== traded_priced[2];
    traded_after.mm_ppm <== traded_priced[3];
    signal traded_mm_old[N + 1];
    traded_mm_old[0] <== 0;
    for (var i = 0; i < N; i++) {
        traded_mm_old[i + 1] <== traded_mm_old[i] + at_t[i].out * c_maintenance[i];
    }
    component traded_fresh = FreshMark();
    traded_fresh.enabled <== 1 - new_zero.out;
    traded_fresh.mark_time <== traded_priced[1];
    traded_fresh.now <== now;
    traded_fresh.staleness <== staleness;

    // margin.require_initial_margin: IM holds after the trade, or the trade only
    // reduced the position and MM did not rise, equity/MM did not fall and free
    // collateral did not fall (dYdX v4's rule and ours).
    signal post_value <== sums[N][1] - traded_old[N][2] + traded_after.value;
    signal post_im <== sums[N][2] - traded_old[N][3] + traded_after.initial;
    signal post_mm <== sums[N][3] - traded_mm_old[N] + traded_after.maintenance;
    signal pre_im <== sums[N][2];
    signal pre_mm <== sums[N][3];
    signal post_equity <== balance + post_value;
    signal pre_equity <== balance - cash + sums[N][1];
    component ranges[6];
    for (var r = 0; r < 6; r++) {
        ranges[r] = SignedRange(124);
    }
    ranges[0].in <== post_equity;
    ranges[1].in <== pre_equity;
    ranges[2].in <== post_im;
    ranges[3].in <== pre_im;
    ranges[4].in <== post_mm;
    ranges[5].in <== pre_mm;
    component holds = SignedLessEq(124);
    holds.a <== post_im;
    holds.b <== post_equity;
    component mm_rise = SignedLessEq(124);
    mm_rise.a <== post_mm;
    mm_rise.b <== pre_mm;
    component ratio = SignedLessEq(249);
    ratio.a <== pre_equity * post_mm;
    ratio.b <== post_equity * pre_mm;
    component free = SignedLessEq(125);
    free.a <== pre_equity - pre_im;
    free.b <== post_equity - post_im;
    signal reduced <== closing + reducing;
    signal rule1 <== reduced * mm_rise.out;
    signal rule2 <== rule1 * ratio.out;
    signal rule3 <== rule2 * free.out;
    (1 - holds.out) * (1 - rule3) === 0;

    // The list after: the traded place takes the new position (or is cut out when it
    // closes, the places after it moving up one); each position keeps its settled
    // snapshots. Places past the list's length hold zeros.
    signal loss_new <== traded_priced[5] + new_sign.neg * (traded_priced[6] - traded_priced[5]);
    component old_positions = PositionsHash(N);
    old_positions.n <== n;
    old_positions.list <== list;
    (old_positions.out - account[A_POSITION_ROOT()]) * enabled === 0;
    component p_value[N][5];
    component p_live[N];
    signal placed[N][5];
    signal moved[N];
    signal shifted[N][5];
    for (var i = 0; i < N; i++) {
        for (var f = 0; f < 5; f++) {
            (1 - active[i].out) * list[i][f] === 0;
        }
        var settled[5] = [list[i][0], list[i][1], list[i][2], pick[i].out[4], settle[i].loss_side];
        var traded_values[5] = [traded, new, cost_new, traded_priced[4], loss_new];
        p_live[i] = Pick();
        p_live[i].c <== at_t[i].out;
        p_live[i].t <== 1 - new_zero.out;
        p_live[i].f <== active[i].out;
        for (var f = 0; f < 5; f++) {
            p_value[i][f] = Pick();
            p_value[i][f].c <== at_t[i].out;
            p_value[i][f].t <== traded_values[f];
            p_value[i][f].f <== settled[f];
            placed[i][f] <== p_value[i][f].out * p_live[i].out;
        }
    }
    for (var i = 0; i < N; i++) {
        moved[i] <== closing * after[i + 1];
        for (var f = 0; f < 5; f++) {
            if (i + 1 < N) {
                shifted[i][f] <== placed[i][f] + moved[i] * (placed[i + 1][f] - placed[i][f]);
            } else {
                shifted[i][f] <== placed[i][f] - moved[i] * placed[i][f];
            }
        }
    }
    signal n_after <== n + opening - closing;
    component new_positions = PositionsHash(N);
    new_positions.n <== n_after;
    new_positions.list <== shifted;

    component old_account = HashElements(ACCOUNT_VALUES());
    old_account.in <== account;
    component new_account = HashElements(ACCOUNT_VALUES());
    for (var i = 0; i < ACCOUNT_VALUES(); i++) {
        if (i == A_BALANCE()) {
            new_account.in[i] <== balance;
        } else if (i == A_POSITIONS()) {
            new_account.in[i] <== n_after;
        } else if (i == A_POSITION_ROOT()) {
            new_account.in[i] <== new_positions.out;
        } else {
            new_account.in[i] <== account[i];
        }
    }
    component update = LeafUpdateIf(32);
    update.enabled <== enabled;
    update.old_root <== root;
    update.old_leaf <== old_account.out;
    update.new_leaf <== new_account.out;
    update.index <== index;
    update.siblings <== siblings;
    new_root <== update.new_root;

    // What the side paid each instrument's pool.
    signal paid[K][N];
    for (var j = 0; j < K; j++) {
        var sum = 0;
        for (var i = 0; i < N; i++) {
            paid[j][i] <== pick[i].pick[j] * settle[i].payment;
            sum += paid[j][i];
        }
        pool_delta[j] <== sum * enabled;
    }
    // max(x, 0) = (x + |x|) / 2
    long_change <== (new + new_sign.abs - old - old_sign.abs) / 2;
}

template Sum(N) {
    signal input in[N];
    signal output out;
    var sum = 0;
    for (var i = 0; i < N; i++) {
        sum += in[i];
    }
    out <== sum;
}

// The traded instrument's fields a fill reads besides its PRICED ones.
function TRADED() { return 8; }
function TRADED_FIELD(i) {
    var fields[8] = [I_ACTIVE(), I_TICK(), I_LOT(), I_MAKER_FEE(), I_TAKER_FEE(), I_MAX_OI(),
                     I_OI(), I_POOL()];
    return fields[i];
}

// One fill through the working state: the accounts and orders trees, the K
// instruments, the globals and the insurance fund's balance. `record` is what the
// batch publishes: (instrument, maker, taker, maker's side, size, price).
template FillStep(N, K) {
    signal input enabled;     // 0: an unused slot (zeros) that changes nothing
    signal input accounts;
    signal input orders;
    signal input cache[K][INSTRUMENT_VALUES()];
    signal input globals[GLOBAL_VALUES()];
    signal input fund;
    signal input staleness;
    signal input now;
    signal input domain[2];
    signal input size;
    signal input order[2][ORDER_FIELDS()];        // maker, taker
    signal input sig[2][5];
    signal input slot_exists[2];
    signal input slot[2][8];
    signal input continuing[2];
    signal input slot_siblings[2][ORDER_DEPTH()];
    signal input account[2][ACCOUNT_VALUES()];
    signal input account_siblings[2][32];
    signal input list[2][N][5];
    signal input t[2];
    signal output new_accounts;
    signal output new_orders;
    signal output new_cache[K][INSTRUMENT_VALUES()];
    signal output new_globals[GLOBAL_VALUES()];
    signal output new_fund;
    signal output record[6];   // what the batch publishes (below)
    signal output ticks_lots[2];

    // The two orders: one instrument, opposite sides, two accounts, neither the fund.
    signal traded <== order[0][O_INSTRUMENT()];
    order[1][O_INSTRUMENT()] === traded;
    (order[0][O_SIDE()] + order[1][O_SIDE()] - 1) * enabled === 0;
    component self_trade = IsEqual();
    self_trade.in[0] <== order[0][O_ACCOUNT()];
    self_trade.in[1] <== order[1][O_ACCOUNT()];
    self_trade.out * enabled === 0;
    component fund_trades[2];
    for (var s = 0; s < 2; s++) {
        fund_trades[s] = IsZero();
        fund_trades[s].in <== order[s][O_ACCOUNT()];
        fund_trades[s].out * enabled === 0;
    }

    // The instrument: listed in the batch, active, a perpetual (so never expired).
    component pick = PickInstrument(K);
    pick.enabled <== enabled;
    pick.id <== traded;
    pick.cache <== cache;
    (pick.out[7] - PERPETUAL()) * enabled === 0;
    signal terms[TRADED()][K];
    signal fields[TRADED()];
    for (var f = 0; f < TRADED(); f++) {
        var sum = 0;
        for (var j = 0; j < K; j++) {
            terms[f][j] <== pick.pick[j] * cache[j][TRADED_FIELD(f)];
            sum += terms[f][j];
        }
        fields[f] <== sum;
    }
    (fields[0] - 1) * enabled === 0;  // active

    // Price and size on the grid; the taker's limit allows the maker's price.
    signal price <== order[0][O_PRICE()];
    component size_bits = Num2Bits(64);
    size_bits.in <== size;
    component no_size = IsZero();
    no_size.in <== size;
    no_size.out * enabled === 0;
    component now_bits = Num2Bits(64);
    now_bits.in <== now;
    signal ticks;
    signal lots;
    ticks <-- fields[1] == 0 ? 0 : price \ fields[1];
    lots <-- fields[2] == 0 ? 0 : size \ fields[2];
    price === ticks * fields[1];
    size === lots * fields[2];
    component ticks_bits = Num2Bits(64);
    ticks_bits.in <== ticks;
    component lots_bits = Num2Bits(64);
    lots_bits.in <== lots;
    component below = LessEqThan(64);  // a buying taker: price <= its limit
    below.in[0] <== price;
    below.in[1] <== order[1][O_PRICE()];
    component above = LessEqThan(64);  // a selling taker: price >= its limit
    above.in[0] <== order[1][O_PRICE()];
    above.in[1] <== price;
    signal taker_sells <== order[1][O_SIDE()];
    (1 - taker_sells) * (1 - below.out) === 0;
    taker_sells * (1 - above.out) === 0;

    // notional(price, size), exact on the grid; fees round up.
    signal value;
    value <-- price * size \ SIZE_ONE();
    value * SIZE_ONE() === price * size;
    component value_bits = Num2Bits(104);
    value_bits.in <== value;
    component fee[2];
    for (var s = 0; s < 2; s++) {
        fee[s] = CeilDiv(134, PPM());
        fee[s].in <== value * fields[3 + s];
    }

    // The orders, maker first.
    component use[2];
    for (var s = 0; s < 2; s++) {
        use[s] = OrderUse();
        use[s].enabled <== enabled;
        use[s].order <== order[s];
        use[s].domain <== domain;
        use[s].sig <== sig[s];
        use[s].exists <== slot_exists[s];
        use[s].slot <== slot[s];
        use[s].continuing <== continuing[s];
        for (var k = 0; k < 4; k++) {
            use[s].keys[k] <== account[s][A_KEY(k)];
        }
        use[s].nonce_floor <== account[s][A_NONCE_FLOOR()];
        use[s].now <== now;
        use[s].lifetime <== globals[G_LIFETIME()];
        use[s].fee_ppm <== fields[3 + s];
        use[s].fill <== size;
        use[s].root <== s == 0 ? orders : use[0].new_root;
        use[s].siblings <== slot_siblings[s];
    }
    use[1].flags[0] === 0;  // a post-only order does not take
    new_orders <== use[1].new_root;

    // The two sides, maker first; a buy adds the size and pays the notional.
    component side[2];
    for (var s = 0; s < 2; s++) {
        side[s] = FillSide(N, K);
        side[s].enabled <== enabled;
        side[s].root <== s == 0 ? accounts : side[0].new_root;
        side[s].index <== order[s][O_ACCOUNT()];
        side[s].siblings <== account_siblings[s];
        side[s].account <== account[s];
        side[s].list <== list[s];
        side[s].t <== t[s];
        side[s].cache <== cache;
        side[s].traded <== traded;
        side[s].traded_priced <== pick.out;
        side[s].delta <== size * (1 - 2 * order[s][O_SIDE()]);
        side[s].flow <== value * (1 - 2 * order[s][O_SIDE()]);
        side[s].fee <== fee[s].q;
        side[s].price <== price;
        side[s].reduce_only <== use[s].flags[1];
        side[s].max_positions <== globals[G_MAX_POSITIONS()];
        side[s].now <== now;
        side[s].staleness <== staleness;
    }
    new_accounts <== side[1].new_root;

    // Open interest within its bound when it grows; the pools take the settlements,
    // and a pool whose instrument has no open interest left goes to the fund.
    signal change <== side[0].long_change + side[1].long_change;
    signal interest <== fields[6] + change;
    component grows = SignedLessEq(65);
    grows.a <== change;
    grows.b <== 0;
    component capped = LessEqThan(64);
    capped.in[0] <== interest;
    capped.in[1] <== fields[5];
    (1 - grows.out) * (1 - capped.out) === 0;
    component interest_bits = Num2Bits(64);
    interest_bits.in <== interest;
    component none_left = IsZero();
    none_left.in <== interest;
    signal pool[K];
    signal swept_terms[K];
    var swept_sum = 0;
    for (var j = 0; j < K; j++) {
        pool[j] <== cache[j][I_POOL()] + side[0].pool_delta[j] + side[1].pool_delta[j];
        swept_terms[j] <== pick.pick[j] * pool[j];
        swept_sum += swept_terms[j];
    }
    signal swept <== none_left.out * swept_sum;
    new_fund <== fund + swept;
    for (var j = 0; j < K; j++) {
        for (var f = 0; f < INSTRUMENT_VALUES(); f++) {
            if (f == I_POOL()) {
                new_cache[j][f] <== pool[j] - pick.pick[j] * swept;
            } else if (f == I_OI()) {
                new_cache[j][f] <== cache[j][f] + pick.pick[j] * change;
            } else {
                new_cache[j][f] <== cache[j][f];
            }
        }
    }
    for (var g = 0; g < GLOBAL_VALUES(); g++) {
        if (g == G_FEES()) {
            new_globals[g] <== globals[g] + fee[0].q + fee[1].q;
        } else {
            new_globals[g] <== globals[g];
        }
    }
    record[0] <== traded;
    record[1] <== order[0][O_ACCOUNT()];
    record[2] <== order[1][O_ACCOUNT()];
    record[3] <== order[0][O_SIDE()];
    record[4] <== size;
    record[5] <== price;
    ticks_lots[0] <== ticks;
    ticks_lots[1] <== lots;
}

// The working state a batch holds, opened from the state root's components: the K
// instruments (listed ones at their id; an unlisted place is all zeros), the globals,
// the oracle's staleness bound and the insurance fund's account.
template OpenWorking(K) {
    signal input now;
    signal input components[9];
    signal input listed[K];
    signal input cache[K][INSTRUMENT_VALUES()];
    signal input globals[GLOBAL_VALUES()];
    signal input oracle[ORACLE_VALUES()];
    signal output staleness;

    component leaves = InstrumentsRoot(K);
    leaves.listed <== listed;
    leaves.cache <== cache;
    leaves.root === components[INSTRUMENTS()];
    globals[0] === 7;  // Globals' tag
    component g = HashElements(GLOBAL_VALUES());
    g.in <== globals;
    g.out === components[GLOBALS()];
    oracle[0] === 6;   // OracleConfig's tag
    component o = HashElements(ORACLE_VALUES());
    o.in <== oracle;
    o.out === components[ORACLE()];
    staleness <== oracle[OR_STALENESS()];
    // The batch's time is not before the oracle's last report (a report is never
    // after its block, and block times never go back): a prover cannot date a batch
    // into the past beyond it. L1 keeps batch times in order (docs/design/zk.md).
    component after_report = LessEqThan(64);
    after_report.in[0] <== oracle[OR_LAST_REPORT()];
    after_report.in[1] <== now;
    after_report.out === 1;
}

// The instruments' root of K places (zkroot: depth 16, the id is the place).
template InstrumentsRoot(K) {
    signal input listed[K];
    signal input cache[K][INSTRUMENT_VALUES()];
    signal output root;
    component hash[K];
    component tree = PrefixRoot(K, 16);
    for (var j = 0; j < K; j++) {
        listed[j] * (listed[j] - 1) === 0;
        for (var f = 0; f < INSTRUMENT_VALUES(); f++) {
            (1 - listed[j]) * cache[j][f] === 0;
        }
        listed[j] * (cache[j][0] - 4) === 0;   // Instrument's tag
        listed[j] * (cache[j][I_ID()] - j) === 0;
        hash[j] = HashElements(INSTRUMENT_VALUES());
        hash[j].in <== cache[j];
        tree.leaves[j] <== hash[j].out * listed[j];
    }
    root <== tree.root;
}
