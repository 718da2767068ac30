"""Tactical blunders in a match: why an agent loses, read from the game's own rules.

A win rate says *that* an agent loses; this says whether it loses to tactics one move deep, which
more training against a sharp opponent fixes, or is outplayed further ahead. Before each of the
agent's moves it asks the game (:meth:`~envs.base.TurnBasedGame.move_outcomes`, the same probe the
MCTS uses) two questions:

- **missed win**: a move won at once and the agent played another;
- **gift**: no move won, the agent's move let the opponent win at once, and some other move would
  not have (when every move loses so, the position was already lost: not counted).

Every game with ``state_fields`` (positions that can be copied) can be analysed; nothing here
knows any game's rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from envs.base import DRAW, RUNNING, PositionPlayer, TurnBasedGame
from rlagent.games.matches import Player, play_boards


@dataclass
class TacticsReport:
    """Counts over one match; ``lost_*`` classify each lost game by its first blunder."""

    games: int = 0
    wins: int = 0
    losses: int = 0
    moves: int = 0
    wins_available: int = 0
    wins_missed: int = 0
    gift_chances: int = 0  # moves where some moves hand the opponent a win in one and some do not
    gifts: int = 0
    lost_after_gift: int = 0
    lost_after_missed_win: int = 0

    @property
    def lost_outplayed(self) -> int:
        """Lost games without a blunder one move deep."""
        return self.losses - self.lost_after_gift - self.lost_after_missed_win

    def lines(self, opponent: str) -> list[str]:
        """The report as the lines ``evaluate --tactics`` prints."""
        missed = f"missed {self.wins_missed} ({self.wins_missed / self.wins_available:.0%})" if self.wins_available else "none missed"
        return [
            f"  tactics over {self.moves} moves of the agent (the game's move outcomes, one move deep):",
            f"    a win in one was there {self.wins_available} times: {missed}",
            f"    a move that lets {opponent} win at once, where a safe move existed: {self.gifts} of {self.gift_chances} such positions",
            f"    lost games ({self.losses}): {self.lost_after_gift} began losing with such a gift, "
            f"{self.lost_after_missed_win} with a missed win, {self.lost_outplayed} with neither (outplayed deeper)",
        ]


def classify_moves(game: TurnBasedGame, boards: np.ndarray, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For the mover's ``actions`` on ``boards`` (not played here): bool arrays ``(k,)`` of win
    available, win missed, gift possible (some legal moves give the opponent a win in one, some do
    not) and gift made. Costs one copy of each board per legal move, then the game's
    ``move_outcomes`` on those copies."""
    boards, actions = np.asarray(boards), np.asarray(actions)
    rows = np.arange(len(boards))
    wins = game.move_outcomes(boards) == game.to_move[boards][:, None]
    win_available = wins.any(axis=1)
    missed = win_available & ~wins[rows, actions]
    gift_possible = np.zeros(len(boards), dtype=bool)
    gift = np.zeros(len(boards), dtype=bool)
    quiet = rows[~win_available]
    if quiet.size:
        legal = game.legal_mask(boards[quiet])
        board_of, moves = np.nonzero(legal)
        probe = game.spawn(moves.size)
        slots = np.arange(moves.size)
        probe.copy_boards(game, boards[quiet][board_of], slots)
        probe.play(moves, slots, check=False)
        going = slots[probe.winner == RUNNING]
        answers = np.zeros(moves.size, dtype=bool)
        if going.size:
            answers[going] = (probe.move_outcomes(going) == probe.to_move[going][:, None]).any(axis=1)
        gives = np.zeros(legal.shape, dtype=bool)
        gives[board_of, moves] = answers
        safe_exists = (legal & ~gives).any(axis=1)
        gift_possible[quiet] = gives.any(axis=1) & safe_exists
        gift[quiet] = gives[np.arange(quiet.size), actions[quiet]] & safe_exists
    return win_available, missed, gift_possible, gift


def tactics_match(game_factory: Callable[[int], TurnBasedGame], agent: Player | PositionPlayer, opponent: Player | PositionPlayer, games: int) -> TacticsReport:
    """``games`` games (half with each colour, all in one batch) of ``agent`` against
    ``opponent``, with the agent's every move classified by :func:`classify_moves`."""
    if games <= 0 or games % 2:
        raise ValueError(f"a tactics match needs a positive even number of games (both colours equally often), got {games}")
    game = game_factory(games)
    report = TacticsReport(games=games)
    first_blunder = np.zeros(games, dtype=np.int8)  # 0 none, 1 gift, 2 missed win

    def look(mover: int, boards: np.ndarray, actions: np.ndarray) -> None:
        if mover != 0:
            return
        available, missed, possible, gift = classify_moves(game, boards, actions)
        report.moves += len(boards)
        report.wins_available += int(available.sum())
        report.wins_missed += int(missed.sum())
        report.gift_chances += int(possible.sum())
        report.gifts += int(gift.sum())
        fresh = first_blunder[boards] == 0
        first_blunder[boards[fresh & gift]] = 1
        first_blunder[boards[fresh & missed]] = 2

    agent_first = np.arange(games) < games // 2
    play_boards(game, agent, opponent, agent_first, on_move=look)
    agent_seat = np.where(agent_first, 0, 1)
    lost = (game.winner != agent_seat) & (game.winner != DRAW)
    report.wins = int((game.winner == agent_seat).sum())
    report.losses = int(lost.sum())
    report.lost_after_gift = int((lost & (first_blunder == 1)).sum())
    report.lost_after_missed_win = int((lost & (first_blunder == 2)).sum())
    return report
