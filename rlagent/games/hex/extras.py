"""Hex's registration with :mod:`rlagent.games.extras`: its PUCT search, solved positions and analysis."""

from __future__ import annotations

from typing import Any

from envs.player_names import search_name
from rlagent.agent import Agent
from rlagent.games.extras import GameExtras, register_extras
from rlagent.games.game_agent import load_game_agent
from rlagent.games.hex.analysis import BOARD_FORMAT, analyze, analyze_search, is_q_network, report, search_report, solve
from rlagent.games.hex.board_size import board_settings, policy_board_size
from rlagent.games.hex.puct import PUCTPlayer
from rlagent.games.hex.solved_positions import draw_positions, parse_stone_range, score_lines, score_player, selfplay_suite, stone_range
from rlagent.games.players import PolicyPlayer


def evaluate_positions(run: str, count: int, seed: int, stones: str | None) -> list[str]:
    """``evaluate --positions``: the exact-value score of a Hex agent's greedy move (``RUN@puctN``:
    of the move its search chooses), overall and by stone count."""
    search = search_name(run)
    agent, _ = load_game_agent(search.path if search else run, "hex")
    size = policy_board_size(agent.policy)
    stone_counts = stone_range(size, parse_stone_range(stones) if stones else None)
    lines = [f"{agent.path} ({agent.config.algo} on {agent.config.env} {dict(agent.config.env_kwargs)})"]
    suite = draw_positions(size, count, seed, stone_counts)
    player: Any
    if search:
        player, name = PUCTPlayer.from_agent(agent, search.simulations, seed=seed), f"PUCT search, {search.simulations} evaluations"
    else:
        player, name = PolicyPlayer(agent.policy, name=agent.path.stem), "greedy policy"
    return lines + score_lines(score_player(player, suite), suite, name)


def analyze_report(agent: Agent, board: str, to_move: str | None, top: int, exact: bool, simulations: int | None) -> str:
    """``analyze`` of a Hex agent: the heat map on the rhombus, ``--solve``'s exact moves, and with
    ``simulations`` what its PUCT search makes of the position."""
    _, swap = board_settings(agent, None)
    value_loss = getattr(agent.config.algorithm, "value_loss", "mse")
    result = analyze(PolicyPlayer(agent.policy, name=agent.path.stem), board, to_move, swap=swap, value_loss=value_loss)
    if exact:
        result = solve(result)
    head = "Q-network: shows action values Q" if is_q_network(agent.policy) else f"{value_loss} value head"
    lines = [f"{agent.path} ({agent.config.algo}, {head})", report(result, top)]
    if simulations:
        searcher = PUCTPlayer.from_agent(agent, simulations)
        lines += ["", search_report(analyze_search(searcher, board, to_move, swap=swap), top)]
    return "\n".join(lines)


register_extras(
    "hex",
    GameExtras(
        search=PUCTPlayer.from_agent,
        position_suite=selfplay_suite,
        score_positions=lambda player, suite: score_player(player, suite).rate,
        evaluate_positions=evaluate_positions,
        analyze=analyze_report,
        position_format=BOARD_FORMAT,
    ),
)
