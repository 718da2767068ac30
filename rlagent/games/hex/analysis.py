"""What a trained Hex agent thinks of one position, in the absolute frame: its move probabilities
(a policy network) or its action values Q (a Q-network, e.g. a Rainbow or DQN run), and its value;
and, for an agent searched with PUCT (:class:`~rlagent.games.hex.puct.PUCTPlayer`), what the search
made of it: its visits, each move's value, the moves it proved won or lost, the position's value.

The library behind ``python -m rlagent.analyze`` (:mod:`rlagent.analyze`), usable from code and notebooks.

The board text's format is :data:`BOARD_FORMAT`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypeGuard

import numpy as np
import torch

from envs.hex.core import cell_name, planes_from_boards
from envs.hex.render import board_to_text
from envs.hex.solver import MAX_SOLVER_SIZE, HexSolver, SolverLimit
from rlagent.errors import ConfigError
from rlagent.games.hex.board_size import policy_board_size
from rlagent.games.hex.puct import PUCTPlayer
from rlagent.games.players import PolicyPlayer
from rlagent.nets.q_network import QNetwork

BOARD_FORMAT = """Board text: the rows from the top, separated by /, one character per cell: x (or X) a stone
of the first player (X, joins top and bottom), o (or O) a stone of the second player (O,
joins left and right), . an empty cell; spaces are ignored. A row written shorter than the board
is filled up with empty cells, and missing rows at the end (an empty row, or // closing the text)
are empty rows, so "x..o./...../.....//" is a 5x5 board with two stones. The size is the run's;
more rows or cells than that is an error. The player to move follows from the stone counts (as many
x as o: X moves; one x more: O moves; with the swap rule, one o more means X swapped and moves)
unless --to-move says otherwise. All coordinates printed are absolute (c3 = column c, row 3,
as the board is drawn), whichever colour moves."""

STONES = {".": 0, "x": 1, "o": 2}
SYMBOLS = ".XO"
VALID_CHARACTERS = "x or X (first player's stone), o or O (second player's stone), . (empty cell)"


@dataclass(frozen=True)
class Analysis:
    """One position and what the policy makes of it, all in the absolute frame.

    ``probabilities`` (n, n) sums with ``swap_probability`` to 1 and is 0 on occupied cells;
    ``swap_probability`` is None where the swap is not legal. ``value`` is the critic's estimate of
    the return of the player to move: +1 = the mover wins, -1 = it loses (the return is discounted,
    so positions far from the end read closer to 0).

    For a Q-network (a policy with ``action_values``), ``action_values`` (n, n) holds each legal
    cell's Q (NaN on occupied cells) and ``swap_action_value`` the swap's, on the same return scale
    as ``value``, which is then the best legal Q (the greedy move's); ``probabilities`` is then the
    softmax of Q that a sampling :class:`~rlagent.games.players.PolicyPlayer` would draw from, and
    the heat map, the top moves and the report show the Q-values instead.
    """

    board: np.ndarray
    to_move: int
    probabilities: np.ndarray
    swap_probability: float | None
    value: float
    action_values: np.ndarray | None = None
    swap_action_value: float | None = None
    winning: np.ndarray | None = None  # exact: bool (n, n), the moves that keep a won position won
    swap_wins: bool | None = None  # exact: whether the swap wins, where it is legal

    @property
    def solved(self) -> bool:
        return self.winning is not None

    @property
    def shows_action_values(self) -> bool:
        """True for a Q-network's analysis: Q-values are shown, not probabilities."""
        return self.action_values is not None

    def top_moves(self, k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` best legal moves as (name, probability), or (name, Q) for a Q-network, ``swap``
        among them where legal."""
        n = self.board.shape[0]
        scores, swap = self.probabilities, self.swap_probability
        if self.action_values is not None:
            scores, swap = self.action_values, self.swap_action_value
        moves = [(cell_name(int(cell), n), float(p)) for cell, p in enumerate(scores.flat) if self.board.flat[cell] == 0]
        if swap is not None:
            moves.append(("swap", swap))
        return sorted(moves, key=lambda move: -move[1])[:k]


def parse_board(text: str, size: int) -> np.ndarray:
    """Board text (see the module docstring) to an int8 (size, size) board: 0 empty, 1 X, 2 O."""
    rows = "".join(text.split()).split("/")
    while len(rows) > size and not rows[-1]:
        rows.pop()  # a closing "//" on a full board adds nothing
    if len(rows) > size:
        raise ConfigError(f"the board text has {len(rows)} rows but the agent plays {size}x{size} boards: write at most {size} rows")
    board = np.zeros((size, size), dtype=np.int8)
    for r, row in enumerate(rows):
        if len(row) > size:
            raise ConfigError(f"row {r + 1} of the board text has {len(row)} cells but the board is {size} wide")
        for c, char in enumerate(row):
            if char.lower() not in STONES:
                raise ConfigError(f"bad character {char!r} in row {r + 1} of the board text: use {VALID_CHARACTERS}")
            board[r, c] = STONES[char.lower()]
    return board


def players_to_move(board: np.ndarray, swap: bool) -> tuple[int, ...]:
    """Who can be to move given the stone counts, the likelier reading first."""
    xs, os = int((board == 1).sum()), int((board == 2).sum())
    if xs == os:
        return (0, 1) if swap else (0,)  # with swap, O may be to move after X swapped and replied
    if xs == os + 1:
        return (1,)
    if swap and os == xs + 1:
        return (0,)  # X swapped its stone away and moves again
    after_swap = "; with the swap rule o may also have one more (X to move after a swap)" if swap else ""
    raise ConfigError(
        f"inconsistent stone counts: {xs} x and {os} o; X moves first, so x has as many stones as o (X to move) or one more (O to move){after_swap}"
    )


def choose_to_move(board: np.ndarray, to_move: str | int | None, swap: bool) -> int:
    """The player to move: ``to_move`` (x/o or 0/1) if given and possible, else the counts' reading."""
    possible = players_to_move(board, swap)
    if to_move is None:
        return possible[0]
    player = {"x": 0, "o": 1}.get(str(to_move).lower(), to_move)
    if player not in (0, 1):
        raise ConfigError(f"to_move must be x or o, got {to_move!r}")
    if player not in possible:
        xs, os = int((board == 1).sum()), int((board == 2).sum())
        raise ConfigError(f"{SYMBOLS[player + 1]} cannot be to move with {xs} x and {os} o on the board: {SYMBOLS[possible[0] + 1]} is")
    return int(player)


def analyze(player: PolicyPlayer, board_text: str, to_move: str | int | None = None, *, swap: bool = False, value_loss: str = "mse") -> Analysis:
    """What ``player``'s policy makes of the position ``board_text`` (see the module docstring).

    A Q-network (``hasattr(player.policy, "action_values")``) also gives its action values: see
    :class:`Analysis`.

    The size is the network's. ``swap``: the game has the swap rule (then the second player's first
    move may swap). ``value_loss``: the run's ``ppo.value_loss``; a ``bce`` head outputs a logit that
    only its ``tanh`` puts on the return scale, so it must be given to read the value right.
    """
    n = policy_board_size(player.policy)
    board, mover, swap_legal = read_position(board_text, n, to_move, swap)
    planes = planes_from_boards(board[None], np.array([mover]), np.array([swap_legal]))
    mask = np.zeros((1, n * n + 1), dtype=np.int8)
    mask[0, : n * n] = (planes[0, 0] + planes[0, 1] == 0).reshape(-1)
    mask[0, n * n] = swap_legal
    dist, value = player.distribution(planes, mask)
    probs = dist.probs[0].double().cpu().numpy()
    cells = probs[: n * n].reshape(n, n)
    raw = float(value[0])
    q_cells, q_swap = None, None
    if is_q_network(player.policy):
        with torch.inference_mode():
            q_tensor, _, _ = player.policy.action_values({"observation": planes, "action_mask": mask})
        q = q_tensor[0].double().cpu().numpy()
        legal = mask[0] != 0
        q_cells = np.where(legal[: n * n], q[: n * n], np.nan).reshape(n, n)
        q_cells = q_cells.T.copy() if mover == 1 else q_cells
        q_swap = float(q[n * n]) if swap_legal else None
        value_loss = "mse"  # Q is on the return scale already
    return Analysis(
        board=board,
        to_move=mover,
        probabilities=cells.T.copy() if mover == 1 else cells,
        swap_probability=float(probs[n * n]) if swap_legal else None,
        value=float(np.tanh(raw)) if value_loss == "bce" else raw,
        action_values=q_cells,
        swap_action_value=q_swap,
    )


SOLVE_NODE_LIMIT = 100_000_000  # about a minute: past it --solve gives up with a one-line error


def solve(analysis: Analysis, node_limit: int = SOLVE_NODE_LIMIT) -> Analysis:
    """``analysis`` with the exact answer added: which moves (and the swap) win for the mover.

    Boards up to 8x8 (:mod:`envs.hex.solver`); late positions of 6x6-8x8 solve fast, early ones may
    not: past ``node_limit`` nodes a one-line error says so.
    """
    n = analysis.board.shape[0]
    if n > MAX_SOLVER_SIZE:
        raise ConfigError(f"--solve handles boards up to {MAX_SOLVER_SIZE}x{MAX_SOLVER_SIZE}; this one is {n}x{n}")
    solver = HexSolver(n, table_bits=22, node_limit=node_limit)
    if solver.winner(analysis.board) is not None:
        raise ConfigError("the game is over on this board: there is nothing to solve")
    try:
        winning = np.zeros(n * n, dtype=bool)
        winning[solver.winning_moves(analysis.board, analysis.to_move)] = True
        swap_wins = None
        if analysis.swap_probability is not None or analysis.swap_action_value is not None:
            swapped = np.where(analysis.board.T == 1, 2, 0).astype(np.int8)  # X's stone becomes O's, mirrored
            swap_wins = not solver.mover_wins(swapped, 0)
    except SolverLimit:
        raise ConfigError(f"the solver found no answer within {node_limit:,} nodes: this position is too early for exact values on {n}x{n}") from None
    return replace(analysis, winning=winning.reshape(n, n), swap_wins=swap_wins)


def read_position(board_text: str, size: int, to_move: str | int | None, swap: bool) -> tuple[np.ndarray, int, bool]:
    """The board, the player to move and whether the swap is legal, from the board text."""
    board = parse_board(board_text, size)
    if not (board == 0).any():
        raise ConfigError("the board is full: there is no move to analyze")
    mover = choose_to_move(board, to_move, swap)
    swap_legal = swap and mover == 1 and int((board == 1).sum()) == 1 and not (board == 2).any()
    return board, mover, bool(swap_legal)


@dataclass(frozen=True)
class SearchAnalysis:
    """What a PUCT search made of one position, in the absolute frame.

    ``visits`` (n, n) counts the simulations through each cell's move (``swap_visits`` the swap's,
    None where it is not legal); ``q`` (n, n) is each move's mean value for the player to move
    (NaN where unvisited or occupied); ``proven`` (n, n) is 2 where a move wins at once, 1 where the
    search proved it wins, -1 where it proved it loses, else 0. ``value`` is the position's value
    for the player to move after the search (+1 / -1 exactly where it was solved).
    """

    board: np.ndarray
    to_move: int
    simulations: int
    visits: np.ndarray
    q: np.ndarray
    proven: np.ndarray
    value: float
    move: str
    swap_visits: int | None = None
    swap_q: float | None = None
    swap_proven: int = 0

    def top_moves(self, k: int = 5) -> list[tuple[str, int, float, int]]:
        """The ``k`` most visited legal moves as (name, visits, Q, proven), proven wins first and
        proven losses last; moves neither visited nor proven are left out."""
        n = self.board.shape[0]
        moves = [
            (cell_name(cell, n), int(self.visits.flat[cell]), float(self.q.flat[cell]), int(self.proven.flat[cell]))
            for cell in range(n * n)
            if self.board.flat[cell] == 0 and (self.visits.flat[cell] or self.proven.flat[cell])
        ]
        if self.swap_visits is not None and (self.swap_visits or self.swap_proven):
            moves.append(("swap", self.swap_visits, float("nan") if self.swap_q is None else self.swap_q, self.swap_proven))
        return sorted(moves, key=lambda move: (-max(move[3], 0), move[3] < 0, -move[1]))[:k]


def analyze_search(player: PUCTPlayer, board_text: str, to_move: str | int | None = None, *, swap: bool = False) -> SearchAnalysis:
    """What ``player``'s search makes of the position ``board_text`` (see the module docstring);
    ``swap`` as in :func:`analyze`."""
    n = policy_board_size(player.policy)
    board, mover, swap_legal = read_position(board_text, n, to_move, swap)
    result = player.search(board[None], np.array([mover]), np.array([swap_legal]))
    cells = n * n
    move = int(result.moves[0])
    return SearchAnalysis(
        board=board,
        to_move=mover,
        simulations=player.simulations,
        visits=result.visits[0, :cells].reshape(n, n),
        q=np.where(board == 0, result.q[0, :cells].reshape(n, n), np.nan),
        proven=result.proven[0, :cells].reshape(n, n),
        value=float(result.value[0]),
        move="swap" if move == cells else cell_name(move, n),
        swap_visits=int(result.visits[0, cells]) if swap_legal else None,
        swap_q=float(result.q[0, cells]) if swap_legal and result.visits[0, cells] else None,
        swap_proven=int(result.proven[0, cells]),
    )


def search_report(analysis: SearchAnalysis, top: int = 5) -> str:
    """Everything the CLI prints about a search: the visits in percent on the board, the most
    visited moves with their values and proofs, the swap, the chosen move and the value."""
    mover = SYMBOLS[analysis.to_move + 1]
    total = int(analysis.visits.sum()) + (analysis.swap_visits or 0)
    shares = analysis.visits / max(total, 1)
    proofs = {2: ", wins at once", 1: ", proven win", -1: ", proven loss"}

    def describe(i: int, name: str, visits: int, q: float, proven: int) -> str:
        value = "" if np.isnan(q) else f", Q {q:+.2f}"
        return f"{i}. {name} {100 * visits / max(total, 1):.1f}% ({visits}{value}{proofs.get(proven, '')})"

    moves = "  ".join(describe(i, *move) for i, move in enumerate(analysis.top_moves(top), 1))
    lines = [
        f"search: {analysis.simulations} evaluations, visits in % of the {total} below the root ({mover} to move):",
        heat_map(Analysis(analysis.board, analysis.to_move, shares, None, analysis.value)),
        "",
        f"most visited: {moves}",
    ]
    if analysis.swap_visits is not None:
        lines.append(f"swap: {100 * analysis.swap_visits / max(total, 1):.1f}% ({analysis.swap_visits})")
    solved = {1.0: f" (solved: {mover} wins)", -1.0: f" (solved: {mover} loses)"}.get(analysis.value, "")
    lines.append(f"search's choice: {analysis.move}")
    lines.append(f"value after the search: {analysis.value:+.3f} for {mover}, the player to move{solved}")
    return "\n".join(lines)


def is_q_network(policy: object) -> TypeGuard[QNetwork]:
    """A network that values actions (the DQN family's :class:`~rlagent.nets.q_network.QNetwork`)."""
    return hasattr(policy, "action_values")


def heat_map(analysis: Analysis) -> str:
    """The move probabilities in percent (a Q-network: the action values Q, two decimals, e.g.
    ``+0.53``) on the hex rhombus (each row half a cell right of the one above, as
    :func:`envs.hex.render.board_to_text` draws it); occupied cells show their stone."""
    board = analysis.board
    q = analysis.action_values

    def field(r: int, c: int) -> str:
        if board[r, c]:
            return SYMBOLS[board[r, c]]
        return f"{100 * analysis.probabilities[r, c]:.0f}" if q is None else f"{q[r, c]:+.2f}"

    return _rhombus(board.shape[0], field, 4 if q is None else 6)


def exact_map(analysis: Analysis) -> str:
    """The board with each empty cell marked ``W`` (a move that wins) or ``-`` (one that loses)."""
    board, winning = analysis.board, analysis.winning
    if winning is None:
        raise ValueError("exact_map needs a solved analysis (--solve)")
    return _rhombus(board.shape[0], lambda r, c: SYMBOLS[board[r, c]] if board[r, c] else ("W" if winning[r, c] else "-"), 4)


def _rhombus(n: int, field: Callable[[int, int], str], step: int) -> str:
    """Text fields on the hex rhombus with the coordinates around it: ``step`` columns from one cell
    to the next, fields ``step - 1`` wide, right-aligned."""
    w = len(str(n))
    base = w + 2
    half, width = step // 2, step - 1

    def line(items: list[tuple[int, str]]) -> str:
        chars = [" "] * (base + (step + half) * n + w + 2)
        for x, text in items:
            chars[x : x + len(text)] = text
        return "".join(chars).rstrip()

    # Cell (r, c) is right-aligned in the ``width`` characters from column base + half * r + step * c
    # (probabilities: base + 2r + 4c, 3 wide).
    letters = [chr(ord("a") + c) for c in range(n)]
    lines = [line([(base + width - 1 + step * c, letters[c]) for c in range(n)])]
    for r in range(n):
        x = base + half * r
        items = [(x - 1 - w, str(r + 1).rjust(w)), (x + step * n + 1, str(r + 1))]
        items += [(x + step * c, field(r, c).rjust(width)) for c in range(n)]
        lines.append(line(items))
    lines.append(line([(base + half * (n - 1) + width - 1 + step * c, letters[c]) for c in range(n)]))
    return "\n".join(lines)


def report(analysis: Analysis, top: int = 5) -> str:
    """Everything the CLI prints about one analysis."""
    mover = SYMBOLS[analysis.to_move + 1]
    q = analysis.shows_action_values
    moves = "  ".join(f"{i}. {name} {p:+.3f}" if q else f"{i}. {name} {100 * p:.1f}%" for i, (name, p) in enumerate(analysis.top_moves(top), 1))
    title = (
        f"action values Q ({mover} to move; a Q-network: Q-values, not probabilities; +1 = {mover} wins, -1 = {mover} loses):"
        if q
        else f"move probabilities in % ({mover} to move):"
    )
    lines = [
        board_to_text(analysis.board, to_move=analysis.to_move),
        "",
        title,
        heat_map(analysis),
        "",
        f"top moves: {moves}",
    ]
    if q and analysis.swap_action_value is not None:
        lines.append(f"swap: Q {analysis.swap_action_value:+.3f}")
    elif analysis.swap_probability is not None:
        lines.append(f"swap: {100 * analysis.swap_probability:.1f}%")
    what = " (the best legal Q)" if q else ""
    lines.append(f"value{what}: {analysis.value:+.3f} for {mover}, the player to move (+1 = {mover} wins, -1 = {mover} loses)")
    if analysis.solved:
        lines += ["", *solved_lines(analysis)]
    return "\n".join(lines)


def solved_lines(analysis: Analysis) -> list[str]:
    """What ``--solve`` adds: the exact result, the winning moves and how much the policy puts on them."""
    n = analysis.board.shape[0]
    mover = SYMBOLS[analysis.to_move + 1]
    if analysis.winning is None:
        raise ValueError("solved_lines needs a solved analysis (--solve)")
    winning = [cell_name(int(c), n) for c in np.flatnonzero(analysis.winning)] + (["swap"] if analysis.swap_wins else [])
    if not winning:
        return [f"exact: {mover} to move loses with perfect play (every move loses)"]
    mass = float(analysis.probabilities[analysis.winning].sum()) + (analysis.swap_probability or 0.0) * bool(analysis.swap_wins)
    best = analysis.top_moves(1)[0][0]
    verdict = "wins" if best in winning else "loses"
    return [
        f"exact: {mover} to move wins; winning moves (W), losing ones (-):",
        exact_map(analysis),
        f"winning moves: {', '.join(winning)}; the policy puts {mass:.1%} on them, and its top move {best} {verdict}",
    ]
