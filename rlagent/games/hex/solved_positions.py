"""Grading a Hex player against the truth: in positions won for the side to move, how often does it
pick a winning move?

Winning games against a fixed opponent says little about how well an agent knows the game: a weak
opponent lets many mistakes go unpunished. Positions reached by uniformly random play cover the
whole board, and the exact solver (:mod:`envs.hex.solver`) says which moves keep the win, so the
score is a property of the player alone. Used by ``python -m rlagent.evaluate RUN --positions N``,
the league's table and ``eval/winning_move_rate`` in self-play runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from envs.hex.core import HexCore, planes_from_boards, transpose_actions
from envs.hex.solver import MAX_SOLVER_SIZE, HexSolver, SolverLimit
from rlagent.errors import ConfigError
from rlagent.games.elo import wilson_interval

# Stone counts drawn by default: from about a sixth of the board to just past half on boards whose
# openings solve in a second; on 6x6 and 7x7 the late middle game, where the solver is fast
# (7x7: the range of the strength target).
DEFAULT_STONES = {1: (0, 0), 2: (0, 1), 3: (1, 5), 4: (3, 9), 5: (4, 14), 6: (10, 24), 7: (20, 38), 8: (36, 54)}
SOLVED_SIZES = tuple(DEFAULT_STONES)
NODE_LIMIT = 5_000_000  # per solve (a few seconds): a position past this is dropped (counted), not waited for


@dataclass(frozen=True)
class PositionSuite:
    """Won positions for the side to move, with every winning move: ``boards`` int8 (k, n, n)
    absolute (0 empty, 1 first player, 2 second), ``to_move`` (k,), ``stones`` (k,), ``winning``
    bool (k, n*n). ``drawn`` positions were drawn in all; ``unsolved`` of them hit the node limit."""

    boards: np.ndarray
    to_move: np.ndarray
    stones: np.ndarray
    winning: np.ndarray
    drawn: int
    unsolved: int

    @property
    def size(self) -> int:
        return int(self.boards.shape[1])

    def __len__(self) -> int:
        return int(self.boards.shape[0])


@dataclass(frozen=True)
class SolvedScore:
    """How often a player picked a winning move, overall and by stone count."""

    correct: int
    positions: int
    by_stones: dict[int, tuple[int, int]]  # stones -> (correct, positions)

    @property
    def rate(self) -> float:
        return self.correct / self.positions if self.positions else float("nan")

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.correct, self.positions)


def stone_range(size: int, stones: tuple[int, int] | None = None) -> tuple[int, int]:
    """The stone counts to draw positions with: ``stones`` checked against the board, or the default."""
    if size not in DEFAULT_STONES:
        raise ConfigError(f"solved positions need a board the exact solver handles (1x1 to {MAX_SOLVER_SIZE}x{MAX_SOLVER_SIZE}), got {size}x{size}")
    if stones is None:
        return DEFAULT_STONES[size]
    low, high = stones
    if not 0 <= low <= high < size * size:
        raise ConfigError(f"stone counts must satisfy 0 <= low <= high < {size * size} on {size}x{size}, got {low}-{high}")
    return low, high


def parse_stone_range(text: str) -> tuple[int, int]:
    """``"4-14"`` (or ``"10"``) to (4, 14); a one-line error otherwise."""
    parts = text.split("-")
    if len(parts) in (1, 2) and all(p.strip().isdigit() for p in parts):
        low, high = int(parts[0]), int(parts[-1])
        return low, high
    raise ConfigError(f"stones must be a count or a range like 4-14, got {text!r}")


def draw_positions(size: int, count: int, seed: int = 0, stones: tuple[int, int] | None = None, solver: HexSolver | None = None) -> PositionSuite:
    """``count`` positions by uniformly random play (seeded), each with a stone count drawn uniformly
    from ``stones``; the unfinished ones won for the side to move are kept and solved.

    Random play to ``k`` stones is a uniformly random order of cells, first player first, so a
    position is a random permutation's first ``k`` cells; no swap is played. The mover is the one
    whose turn it is (the first player after an even count).
    """
    if count < 1:
        raise ConfigError(f"the number of positions must be at least 1, got {count}")
    low, high = stone_range(size, stones)
    solver = solver or HexSolver(size, node_limit=NODE_LIMIT)
    rng = np.random.default_rng(seed)
    cells = size * size
    boards, movers, counts, winning = [], [], [], []
    unsolved = 0
    for _ in range(count):
        k = int(rng.integers(low, high + 1))
        order = rng.permutation(cells)[:k]
        flat = np.zeros(cells, dtype=np.int8)
        flat[order[0::2]], flat[order[1::2]] = 1, 2
        board = flat.reshape(size, size)
        mover = k % 2
        if solver.winner(board) is not None:
            continue
        try:
            moves = solver.winning_moves(board, mover)
        except SolverLimit:
            unsolved += 1
            continue
        if moves.size:
            row = np.zeros(cells, dtype=bool)
            row[moves] = True
            boards.append(board)
            movers.append(mover)
            counts.append(k)
            winning.append(row)
    return PositionSuite(
        boards=np.asarray(boards, dtype=np.int8).reshape(-1, size, size),
        to_move=np.asarray(movers, dtype=np.int64),
        stones=np.asarray(counts, dtype=np.int64),
        winning=np.asarray(winning, dtype=bool).reshape(-1, cells),
        drawn=count,
        unsolved=unsolved,
    )


def select_moves(player: Any, boards: np.ndarray, to_move: np.ndarray) -> np.ndarray:
    """Hex positions in (int8 ``(k, n, n)``, 0 empty, 1 the first player's stone, 2 the second's;
    ``to_move`` 0 or 1 each), the absolute cell ``r * n + c`` that ``player`` picks on each out.

    A player with its own absolute-frame entry (:class:`~rlagent.games.hex.puct.PUCTPlayer`'s
    ``select_moves``, :class:`~envs.hex.mcts.MCTSPlayer`'s ``select_cells``) is asked through it;
    any other player (a policy, random) sees the observation planes and mask the env would show
    the mover, and its mover's-frame answer is turned back to the absolute frame. Positions without
    a legal move are refused."""
    boards = np.asarray(boards, dtype=np.int8)
    to_move = np.asarray(to_move).reshape(-1)
    own = getattr(player, "select_moves", None) or getattr(player, "select_cells", None)
    if own is not None:
        return np.asarray(own(boards, to_move)).reshape(-1)
    if not callable(player):
        raise ConfigError(f"{getattr(player, 'name', type(player).__name__)} cannot be shown positions (it is no player)")
    planes = planes_from_boards(boards, to_move)
    n = boards.shape[1]
    mask = np.zeros((boards.shape[0], n * n + 1), dtype=np.int8)
    mask[:, : n * n] = (planes[:, 0] + planes[:, 1] == 0).reshape(boards.shape[0], -1)
    if not mask.any(axis=1).all():
        raise ConfigError("select_moves got a full board: there is no legal move to choose")
    actions = np.asarray(player(planes, mask)).reshape(-1)
    return np.where(to_move == 1, transpose_actions(actions, n), actions)


def score_player(player: Any, suite: PositionSuite, batch: int = 256) -> SolvedScore:
    """How often ``player`` (any player: a policy, random, an MCTS or PUCT search; see
    :func:`select_moves`) picks a winning move in ``suite``'s positions."""
    chosen = (
        np.concatenate([select_moves(player, suite.boards[i : i + batch], suite.to_move[i : i + batch]) for i in range(0, len(suite), batch)])
        if len(suite)
        else np.zeros(0, dtype=np.int64)
    )
    cells = suite.size * suite.size
    hit = (chosen < cells) & suite.winning[np.arange(len(suite)), np.minimum(chosen, cells - 1)]
    by_stones = {int(k): (int(hit[suite.stones == k].sum()), int((suite.stones == k).sum())) for k in np.unique(suite.stones)}
    return SolvedScore(int(hit.sum()), len(suite), by_stones)


def score_lines(score: SolvedScore, suite: PositionSuite, name: str) -> list[str]:
    """The score as printed by ``evaluate --positions``: overall, then by stone count."""
    low, high = score.interval
    n = suite.size
    lines = [
        f"{name}: picks a winning move in {score.correct}/{score.positions} = {score.rate:.1%} (95% CI {low:.1%}-{high:.1%}) "
        f"of the won positions among {suite.drawn} drawn by random play on {n}x{n} ({suite.stones.min() if len(suite) else 0}-"
        f"{suite.stones.max() if len(suite) else 0} stones{f'; {suite.unsolved} too hard to solve, left out' if suite.unsolved else ''})",
        "  stones  positions  winning move  95% CI",
    ]
    for k, (correct, total) in sorted(score.by_stones.items()):
        lo, hi = wilson_interval(correct, total)
        lines.append(f"  {k:>6}  {total:>9}  {correct / total:>12.1%}  {lo:.0%}-{hi:.0%}")
    share = suite.winning.sum(axis=1) / np.maximum(1, (suite.boards.reshape(len(suite), -1) == 0).sum(axis=1)) if len(suite) else np.zeros(0)
    lines.append(f"  (a uniformly random move would win in {share.mean():.1%} of them)")
    return lines


SELFPLAY_MAX_SIZE = 7  # past 7x7 the solver is too slow for a suite at every run's start
SUITE_FILE = "solved_positions.npz"


def selfplay_suite(game: object, count: int, seed: int, directory: Path) -> PositionSuite | None:
    """The suite a self-play run grades its learner on (``eval/winning_move_rate``), or ``None``
    where there is none (not Hex, a board past 7x7, ``count`` 0). Drawn and solved once, then read
    back from ``directory`` (a resumed run grades on the same positions without solving again)."""
    size = getattr(game, "size", None)
    if count <= 0 or not isinstance(game, HexCore) or size is None or size > SELFPLAY_MAX_SIZE:
        return None
    path = directory / SUITE_FILE
    if path.exists():
        with np.load(path) as saved:
            if int(saved["drawn"]) == count and int(saved["seed"]) == seed and saved["boards"].shape[1:] == (size, size):
                return PositionSuite(saved["boards"], saved["to_move"], saved["stones"], saved["winning"], count, int(saved["unsolved"]))
    suite = draw_positions(size, count, seed)
    directory.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp.npz")
    np.savez(partial, boards=suite.boards, to_move=suite.to_move, stones=suite.stones, winning=suite.winning, drawn=count, seed=seed, unsolved=suite.unsolved)
    partial.replace(path)
    return suite
