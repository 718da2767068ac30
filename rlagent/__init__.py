"""rlagent: fast reinforcement learning for board games and cognitive tasks.

Commands: ``python -m rlagent.train`` (train), ``.evaluate`` (win rates, accuracy), ``.league`` (Elo
of a run's checkpoints), ``.play`` (play an agent in the terminal), ``.analyze`` (what an agent
thinks of a position), ``.watch`` (record an Arena match as a GIF), ``.diagnose`` (why a run is or
is not learning). The environments live in the sibling package ``envs``.

The names below are the public API: import them from here (``from rlagent import PolicyPlayer``),
not from the modules that define them, which may move. They load on first use, so
``import rlagent`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# name -> the module that defines it
_PUBLIC = {
    # training
    "Config": "rlagent.config",
    "resolve": "rlagent.config",
    "Trainer": "rlagent.run",
    "LEARNERS": "rlagent.algos",
    "LearnerSpec": "rlagent.algos.learner",
    "CollectionNeeds": "rlagent.algos.learner",
    "Learner": "rlagent.algos.learner",
    "Rollout": "rlagent.rollout",
    "PPO": "rlagent.algos.ppo",
    "OnPolicyConfig": "rlagent.algos.ppo",
    "Reinforce": "rlagent.algos.reinforce",
    "ReinforceConfig": "rlagent.algos.reinforce",
    "Rainbow": "rlagent.algos.rainbow",
    "RainbowConfig": "rlagent.algos.rainbow",
    "ReplayBuffer": "rlagent.algos.replay",
    "QNetwork": "rlagent.nets.q_network",
    "build_q_network": "rlagent.nets.q_network",
    "PolicyConfig": "rlagent.nets.policy",
    "build_policy": "rlagent.nets.policy",
    # trained agents
    "Agent": "rlagent.agent",
    "load_agent": "rlagent.agent",
    "play_episodes": "rlagent.episodes",
    "win_rates_by_colour": "rlagent.episodes",
    "trial_accuracy": "rlagent.episodes",
    "results_by_seat": "rlagent.episodes",
    # players, matches, self-play, ratings
    "RandomPlayer": "rlagent.games.players",
    "MCTSPlayer": "envs.hex.mcts",
    "GenericMCTSPlayer": "envs.mcts",
    "PolicyPlayer": "rlagent.games.players",
    "PUCTPlayer": "rlagent.games.hex.puct",
    "HumanPlayer": "rlagent.games.human",
    "make_player": "rlagent.games.players",
    "make_opponent": "rlagent.games.players",
    "parse_player": "rlagent.games.players",
    "play_games": "rlagent.games.matches",
    "PolicySeatPlayer": "rlagent.games.seat_players",
    "play_seated": "rlagent.games.seat_matches",
    "make_bot": "envs.arena.bots",
    "OpponentPool": "rlagent.games.selfplay",
    "SelfPlayConfig": "rlagent.config",
    "bradley_terry": "rlagent.games.elo",
    "fit_ratings": "rlagent.games.elo",
    "wilson_interval": "rlagent.games.elo",
    "run_league": "rlagent.games.league",
    # diagnostics
    "MonitorConfig": "rlagent.config",
    "diagnose_run": "rlagent.monitor.report",
    "StuckDetector": "rlagent.monitor.stuck",
    "measure_activations": "rlagent.monitor.activations",
    "trunk_gradient_balance": "rlagent.monitor.balance",
    "calibration": "rlagent.monitor.stages",
    # environments
    "make_env": "rlagent.make_env",
    "hex_env": "envs.hex",
    "hex_vector_env": "envs.hex",
    "hex_pettingzoo_env": "envs.hex",
    "HexCore": "envs.hex",
    "pwm_env": "envs.pwm",
    "pwm_vector_env": "envs.pwm",
    "dms_env": "envs.dms",
    "dms_vector_env": "envs.dms",
    "arena_env": "envs.arena.env",
    "arena_vector_env": "envs.arena.env",
    "arena_parallel_env": "envs.arena",
    "ArenaCore": "envs.arena",
    "TurnBasedGame": "envs.base",
    "SimultaneousGame": "envs.base",
    "TrialTask": "envs.base",
    # errors
    "RlagentError": "rlagent.errors",
    "ConfigError": "rlagent.errors",
    "CheckpointError": "rlagent.errors",
    "TrainingError": "rlagent.errors",
}

__all__ = sorted(_PUBLIC)

_RENAMED = {"hex_pettingzoo_env": "pettingzoo_env", "arena_parallel_env": "parallel_env"}


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'rlagent' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), _RENAMED.get(name, name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])
