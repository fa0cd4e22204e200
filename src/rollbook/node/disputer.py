"""The dispute player: opens games against wrong output roots and plays every game
its L1 account is in to the end, as challenger or defender, without help.

docs/design/fraud-proofs.md section 8. A :class:`Disputer` holds an L1 key, the
genesis and a view of the derived chain (the verifier's). On each :meth:`act` it reads
the dispute game's state from L1 and makes every move that is its to make:

- **defender** (its key proposed the root, or backed it): post the checkpoints of its
  trace at the range's midpoints, with the headers that open block boundaries (and,
  at its first move, the disputed root);
- **challenger**: name the first sub-range whose end differs from its trace;
- **one step left**: prove it with the witness of the honest trace (anyone may; the
  executor decides);
- **a clock ran out** on the other side's move: end the game.

Anyone may defend (section 4): a root stands until every one of its defenders — the
proposer and whoever backed it with a bond — is beaten. So the disputer opens a game
against each standing defender of a wrong root (:meth:`check_outputs` looks again
for new backers while the root is not final), and, when a root it derived the same
is disputed and it did not propose it, backs it once (backing closes at half the
root's window), so the root does not hang on a proposer that may not answer.

Its trace of a game is the honest trace of the output (:func:`~rollbook.chain.trace.
trace_output`), or — for a faulty proposer of ``rollbook devnet --fault`` — the lie it
is told to defend (``lies``). Moves go to L1 through ``submit`` (by default sent at
once; the embedded devnet queues them for its next block); a move already sent for
the game's current state is not sent again.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from rollbook.chain.blocks import L2Block, block_output
from rollbook.chain.trace import SPAN, OutputTrace, trace_output
from rollbook.codec.wire import uint
from rollbook.crypto.keccak import keccak256
from rollbook.l1.onestep import witness_tail
from rollbook.l1.system import System
from rollbook.node.service import Genesis

DEFENDER, CHALLENGER = 1, 2
STANDS = 1  # DisputeGame: a backer that stands
PROVE_GAS = 12_000_000
MOVE_GAS = 3_000_000


class Trace(Protocol):
    """What a side plays from: checkpoints and the headers of block boundaries."""

    def __getitem__(self, position: int) -> bytes: ...

    def header_at(self, position: int) -> bytes: ...


@dataclass
class Move:
    game: int
    kind: str
    detail: str = ""


@dataclass
class Disputer:
    system: System
    key: bytes
    genesis: Genesis
    chain: Callable[[], list[L2Block]]
    """The derived chain: ``chain()[n]`` is block ``n``."""
    submit: Callable[[Callable[[], bytes]], None] | None = None
    lies: dict[bytes, Callable[[OutputTrace], Trace]] = field(default_factory=dict)
    """Disputed root → the lie to defend for it (fault injection only)."""
    reckless: random.Random | None = None
    """A lying challenger (fault injection only): it picks sub-ranges at random and
    never proves."""
    moves: list[Move] = field(default_factory=list)
    _traces: dict[int, tuple[OutputTrace, Trace]] = field(default_factory=dict)
    _sent: dict[int, tuple[Any, ...]] = field(default_factory=dict)
    _opened: set[tuple[int, bytes, str]] = field(default_factory=set)
    _backed: set[tuple[int, bytes]] = field(default_factory=set)
    _wrong: dict[int, bytes] = field(default_factory=dict)
    """Output index → the wrong root it holds (disputed until final or gone)."""
    _checked: int = 0
    _games_seen: int = 0

    @property
    def address(self) -> str:
        return self.system.client.address_of(self.key)

    # -- L1 ------------------------------------------------------------------------------

    def _read(self, fn: str, *args: Any) -> Any:
        return self.system.client.read(self.system.game, fn, *args)

    def _send(self, fn: str, *args: Any, value: int = 0, gas: int = MOVE_GAS) -> None:
        client, game, key = self.system.client, self.system.game, self.key

        def send() -> bytes:
            return client.call_tx(key, game, fn, *args, value=value, gas=gas)

        if self.submit is None:
            send()
        else:
            self.submit(send)

    # -- opening -------------------------------------------------------------------------

    def _defenders(self, index: int, root: bytes, proposed_at: int) -> list[str]:
        """The standing defenders of output ``index``: its proposer unless beaten,
        and every backer that stands."""
        key = keccak256(uint(index, 32) + root + uint(proposed_at, 32))
        found = []
        if not self._read("proposer_beaten", key):
            found.append(str(self.system.client.read(self.system.oracle, "proposer")))
        for i in range(int(self._read("backer_count", key))):
            backer = str(self._read("backer_at", key, i))
            if int(self._read("backing", key, backer)) == STANDS:
                found.append(backer)
        return found

    def challenge(self, output_index: int) -> None:
        """Open a game against each standing defender of output ``output_index`` that
        this account has not played for the root it holds."""
        root, _, proposed_at, _ = self.system.client.read(
            self.system.oracle, "outputs", output_index
        )
        root = bytes(root)
        bond = int(self._read("bond"))
        for defender in self._defenders(output_index, root, int(proposed_at)):
            if (output_index, root, defender.lower()) in self._opened:
                continue
            self._opened.add((output_index, root, defender.lower()))
            self._send("open", output_index, defender, value=bond)
            self.moves.append(Move(-1, "open", f"output {output_index} against {defender}"))

    def back(self, output_index: int) -> None:
        """Back output ``output_index`` (once per root), as a second defender."""
        client, oracle = self.system.client, self.system.oracle
        root, _, proposed_at, _ = client.read(oracle, "outputs", output_index)
        if (output_index, bytes(root)) in self._backed:
            return
        self._backed.add((output_index, bytes(root)))
        window = int(client.read(oracle, "challenge_window"))
        if int(client.block("latest")["timestamp"]) >= int(proposed_at) + window // 2:
            return  # too late to back (backing closes at half the window)
        self._send("back", output_index, value=int(self._read("bond")))
        self.moves.append(Move(-1, "back", f"output {output_index}"))

    def check_outputs(self) -> list[int]:
        """Dispute every output whose root differs from the derived one; returns the
        indices disputed now. Outputs are checked once each, in order, as far as the
        chain is derived (a cursor, as the verifier keeps; a removed output's index
        is checked again when a new root takes it). A disputed root that is not final
        is looked at again for new backers; a disputed honest root is backed."""
        client, oracle = self.system.client, self.system.oracle
        blocks = self.chain()
        disputed = []
        mode = self.genesis.cfg.mode
        count = int(client.read(oracle, "count"))
        self._checked = min(self._checked, count)
        while self._checked < count:
            index = self._checked
            root, l2_block, _, _ = client.read(oracle, "outputs", index)
            if l2_block >= len(blocks):
                break  # not derived that far yet (outputs come in block order)
            self._wrong.pop(index, None)
            if bytes(root) != block_output(blocks[l2_block], mode):
                self._wrong[index] = bytes(root)
                disputed.append(index)
            self._checked += 1
        for index, root in sorted(self._wrong.items()):
            gone = index >= count or bytes(client.read(oracle, "outputs", index)[0]) != root
            if gone or client.read(oracle, "is_final", index):
                del self._wrong[index]
            else:
                self.challenge(index)
        self._back_disputed_honest_roots()
        return disputed

    def _back_disputed_honest_roots(self) -> None:
        me = self.address.lower()
        if me == str(self.system.client.read(self.system.oracle, "proposer")).lower():
            return
        count = int(self._read("count"))
        for gid in range(self._games_seen, count):
            index, root, *_ = self._read("disputes", gid)
            if index >= self._checked:
                return  # not derived that far yet: this game and those after, later
            self._games_seen = gid + 1
            if self._wrong.get(index) == bytes(root):
                continue  # a root it disputes
            oracle = self.system.oracle
            if index >= int(self.system.client.read(oracle, "count")):
                continue
            if bytes(self.system.client.read(oracle, "outputs", index)[0]) != bytes(root):
                continue  # that root is gone
            if self.system.client.read(oracle, "is_final", index):
                continue
            self.back(int(index))

    # -- playing -------------------------------------------------------------------------

    def _trace(self, gid: int) -> tuple[OutputTrace, Trace] | None:
        cached = self._traces.get(gid)
        if cached is not None:
            return cached
        index, root, _, blocks, _, _ = self._read("disputes", gid)
        first = 0
        if index > 0:
            first = int(self.system.client.read(self.system.oracle, "outputs", index - 1)[1])
        chain = self.chain()
        last = first + int(blocks)
        if last >= len(chain):
            return None  # not derived that far yet
        g = self.genesis
        honest = trace_output(g.state, chain, first, last, g.cfg.domain_separator, g.cfg.mode)
        lie = self.lies.get(bytes(root))
        played: Trace = honest if lie is None else lie(honest)
        self._traces[gid] = (honest, played)
        return honest, played

    def act(self) -> list[Move]:
        """Make every move that is this account's to make now; returns them."""
        made: list[Move] = []
        me = self.address.lower()
        for gid in range(int(self._read("count"))):
            g = self._read("games", gid)
            defender, challenger = str(g[0]).lower(), str(g[1]).lower()
            lo, hi, to_move, posted, winner, stake = g[2], g[3], g[6], g[10], g[11], g[12]
            if winner != 0 or me not in (defender, challenger):
                continue
            state = (lo, hi, to_move, posted)
            if self._sent.get(gid) == state:
                continue  # our move for this state is on its way
            side = DEFENDER if me == defender else CHALLENGER
            other = CHALLENGER if side == DEFENDER else DEFENDER
            if int(self._read("remaining", gid, other)) < 0 and to_move == other:
                self._send("time_out", gid)
                made.append(Move(gid, "time_out"))
                self._sent[gid] = state
                continue
            traces = self._trace(gid)
            if traces is None:
                continue
            honest, played = traces
            move: Move | None = None
            if hi - lo == 1:
                at = honest.block_at(lo)
                witness = b"" if at is None else witness_tail(*at)
                if self.reckless is None and (side == CHALLENGER or played is honest):
                    self._send("prove", gid, witness, gas=PROVE_GAS)
                    move = Move(gid, "prove", f"position {lo}")
            elif to_move == side == DEFENDER:
                points = self._read("midpoints", lo, hi)
                first = stake == int(self._read("bond"))
                end = int(self._read("disputes", gid)[3]) * SPAN
                self._send(
                    "post",
                    gid,
                    [played[p] for p in points],
                    [played.header_at(p) for p in points],
                    played.header_at(end) if first else b"",
                    value=int(self._read("bond")) if first else 0,
                )
                move = Move(gid, "post", f"[{lo}, {hi}]")
            elif to_move == side == CHALLENGER:
                bounds = [lo, *self._read("midpoints", lo, hi), hi]
                index = (
                    self.reckless.randrange(len(bounds) - 1)
                    if self.reckless
                    else next(
                        (
                            i
                            for i, end in enumerate(bounds[1:])
                            if bytes(self._read("pending", gid, end)) != honest[end]
                        ),
                        len(bounds) - 2,
                    )
                )
                self._send("choose", gid, index)
                move = Move(gid, "choose", f"[{bounds[index]}, {bounds[index + 1]}]")
            if move is not None:
                self._sent[gid] = state
                made.append(move)
        self.moves += made
        return made

    def outcomes(self) -> dict[int, int]:
        """Each game this account played that has ended: its winner (1 defender, 2
        challenger)."""
        me = self.address.lower()
        out = {}
        for gid in range(int(self._read("count"))):
            g = self._read("games", gid)
            if g[11] != 0 and me in (str(g[0]).lower(), str(g[1]).lower()):
                out[gid] = int(g[11])
        return out
