"""A person at a terminal as a player of any turn-based game, and one game between them and an agent.

The game speaks for itself (:class:`~envs.base.TurnBasedGame`'s part for people): it draws its
board (``render_ansi``), names the sides (``player_names``), reads and writes its moves
(``parse_move``, ``move_name``) and says why a move is illegal (``describe_illegal``). So this
module knows nothing of any one game, and a new game can be played here as soon as it is registered.
The library behind ``python -m rlagent.play``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from envs.base import DRAW, TurnBasedGame
from rlagent.errors import ConfigError
from rlagent.games.matches import player_moves


class QuitGame(SystemExit):
    """The person at the keyboard typed ``quit`` or closed the input.

    A ``SystemExit`` (status 0), so that a game stops cleanly wherever the human player sits:
    quitting is a choice, not an error to report.
    """

    def __init__(self) -> None:
        super().__init__(0)


class HumanPlayer:
    """A person typing moves in the game's notation (Hex ``c3`` or ``swap``, Connect Four ``d``).

    A :class:`~envs.base.PositionPlayer`: it is handed the game and the board, since people read the
    board as drawn (absolute), not the mover's-frame planes a network sees. ``color`` is the seat it
    holds (0 moves first). A bad entry (garbage, an occupied cell, a full column) is refused with the
    game's reason and asked again: a typo must not end a game. ``quit`` or the end of input raises
    :class:`QuitGame`. ``input_fn``/``print_fn`` replace :func:`input`/:func:`print` (tests);
    ``show_board=False`` leaves drawing the board to the caller (a loop that draws every move anyway).
    """

    name = "human"
    QUIT_WORDS = ("quit", "exit", "q")

    def __init__(
        self,
        color: int,
        input_fn: Callable[[str], str] = input,
        print_fn: Callable[[str], None] = print,
        show_board: bool = True,
    ) -> None:
        if color not in (0, 1) or isinstance(color, bool):
            raise ConfigError(f"a human player's color is 0 (the first player) or 1 (the second), got {color!r}")
        self.color, self.input_fn, self.print_fn, self.show_board = int(color), input_fn, print_fn, show_board

    def play_positions(self, game: TurnBasedGame, boards: np.ndarray) -> np.ndarray:
        boards = np.asarray(boards).reshape(-1)
        if boards.size != 1:
            raise ValueError(f"a human plays one position at a time, got {boards.size} boards")
        board = int(boards[0])
        if self.show_board:
            self.print_fn(game.render_ansi(board))
        prompt = f"your move ({game.player_names[self.color]}): "
        while True:
            try:
                text = self.input_fn(prompt)
            except EOFError:
                raise QuitGame() from None
            if text.strip().lower() in self.QUIT_WORDS:
                raise QuitGame()
            try:
                return np.array([self.read_move(game, board, text)], dtype=np.int64)
            except ValueError as error:
                self.print_fn(f"refused: {error}. Type {game.move_format}, or quit.")

    @staticmethod
    def read_move(game: TurnBasedGame, board: int, text: str) -> int:
        """The typed move as an action of the mover on ``board``; ``ValueError`` says why it is refused."""
        action = game.parse_move(text, board)
        if not game.is_legal(np.array([action]), np.array([board]))[0]:
            raise ValueError(f"{text.strip()} is not a legal move now: {game.describe_illegal(action, board)}")
        return action


def play_game(agent: Any, human: HumanPlayer, game: TurnBasedGame, print_fn: Callable[[str], None] = print) -> int:
    """One game on board 0 of ``game`` (reset here), drawn after every move; returns the winner
    (0 or 1, or :data:`~envs.base.DRAW`). ``agent`` is any player (a policy, a search)."""
    board = np.array([0])
    game.reset(board)
    names = game.player_names
    goal = game.player_goals[human.color]
    print_fn(f"you play {names[human.color]}{f' ({goal})' if goal else ''}")
    print_fn(game.render_ansi(0))
    while not game.done[0]:
        mover = int(game.to_move[0])
        player = human if mover == human.color else agent
        action = int(player_moves(player, game, board)[0])
        move = game.move_name(action, 0)
        game.play(np.array([action]), board)
        print_fn(f"{'you' if player is human else 'agent'} ({names[mover]}) played {move}")
        print_fn(game.render_ansi(0))
    winner = int(game.winner[0])
    if winner == DRAW:
        print_fn("the game is a draw")
    else:
        print_fn(f"the winner: {names[winner]} ({'you' if winner == human.color else 'the agent'})")
    return winner


def wants_another(input_fn: Callable[[str], str]) -> bool:
    try:
        return input_fn("another game? [y/N] ").strip().lower() in ("y", "yes")
    except EOFError:
        return False
