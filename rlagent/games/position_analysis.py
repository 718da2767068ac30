"""What a trained agent thinks of one position of any turn-based game: its move probabilities (a
Q-network: its action values Q), its favourite moves in the game's notation, and its value.

The game reads the position (``set_position``), names the moves (``move_name``) and, where it can,
draws the numbers on its board (``move_map``). Hex has a richer analysis of its own (a heat map on
the rhombus, PUCT searches, exact solving: :mod:`rlagent.games.hex.analysis`); this one serves every
game. The library behind ``python -m rlagent.analyze`` for games other than Hex.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from envs.base import TurnBasedGame
from rlagent.errors import ConfigError
from rlagent.games.players import PolicyPlayer
from rlagent.losses import on_return_scale
from rlagent.nets.q_network import QNetwork


@dataclass(frozen=True)
class PositionAnalysis:
    """One position and what a policy makes of it. ``scores`` holds one number per legal move,
    by its name: the probability, or Q for a Q-network (``shows_action_values``); ``value`` is the
    critic's estimate of the mover's return (+1 the mover wins, -1 it loses)."""

    board_text: str
    mover: str
    scores: dict[str, float]
    value: float
    shows_action_values: bool
    move_map: str | None

    def top_moves(self, k: int = 5) -> list[tuple[str, float]]:
        return sorted(self.scores.items(), key=lambda move: -move[1])[:k]


def analyze_position(player: PolicyPlayer, game: TurnBasedGame, text: str, to_move: int | None = None, value_loss: str = "mse") -> PositionAnalysis:
    """What ``player`` makes of the position ``text`` (the game's :attr:`~envs.base.TurnBasedGame.position_format`),
    set on board 0 of ``game``. ``value_loss``: the run's, so that a ``bce`` head's output is read on the return scale."""
    if not game.position_format:
        raise ConfigError(f"{game.name} reads no positions from text: it has no set_position")
    try:
        game.set_position(text, 0, to_move)
    except ValueError as error:
        raise ConfigError(f"bad position for {game.name}: {error}") from None
    board = np.array([0])
    observation, mask = game.observation(board), game.legal_mask(board).view(np.int8)
    dist, value = player.distribution(observation, mask)
    scores = dist.probs[0].double().cpu().numpy()
    q_values = isinstance(player.policy, QNetwork)
    if isinstance(player.policy, QNetwork):
        with torch.inference_mode():
            q, _, _ = player.policy.action_values({"observation": observation, "action_mask": mask})
        scores = q[0].double().cpu().numpy()
        value_loss = "mse"  # Q is on the return scale already
    legal = np.flatnonzero(mask[0])
    labels = [f"{scores[a]:+.2f}" if q_values else f"{100 * scores[a]:.0f}" for a in range(game.num_actions)]
    return PositionAnalysis(
        board_text=game.render_ansi(0),
        mover=game.player_names[int(game.to_move[0])],
        scores={game.move_name(int(a), 0): float(scores[a]) for a in legal},
        value=float(on_return_scale(np.asarray(float(value[0])), value_loss)),
        shows_action_values=q_values,
        move_map=game.move_map(labels, 0),
    )


def position_report(analysis: PositionAnalysis, top: int = 5) -> str:
    """Everything the CLI prints about one analysis."""
    mover, q = analysis.mover, analysis.shows_action_values
    title = f"action values Q ({mover} to move; +1 = {mover} wins, -1 = {mover} loses):" if q else f"move probabilities in % ({mover} to move):"
    moves = "  ".join(f"{i}. {name} {p:+.3f}" if q else f"{i}. {name} {100 * p:.1f}%" for i, (name, p) in enumerate(analysis.top_moves(top), 1))
    lines = [analysis.board_text, "", title]
    if analysis.move_map:
        lines.append(analysis.move_map)
    lines += ["", f"top moves: {moves}"]
    best = " (the best legal Q)" if q else ""
    lines.append(f"value{best}: {analysis.value:+.3f} for {mover}, the player to move (+1 = {mover} wins, -1 = {mover} loses)")
    return "\n".join(lines)
