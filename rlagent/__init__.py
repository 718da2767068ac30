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
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:  # the names' real types for type checkers (at run time they load on first use, below)
    from envs.arena import ArenaCore as ArenaCore  # noqa: F401 (in __all__)
    from envs.arena import parallel_env as arena_parallel_env  # noqa: F401 (in __all__)
    from envs.arena.bots import make_bot as make_bot
    from envs.arena.env import arena_env as arena_env
    from envs.arena.env import arena_vector_env as arena_vector_env
    from envs.base import SimultaneousGame as SimultaneousGame
    from envs.base import TrialTask as TrialTask
    from envs.base import TurnBasedGame as TurnBasedGame
    from envs.dms import dms_env as dms_env
    from envs.dms import dms_vector_env as dms_vector_env
    from envs.hex import HexCore as HexCore  # noqa: F401 (in __all__)
    from envs.hex import hex_env as hex_env
    from envs.hex import hex_vector_env as hex_vector_env
    from envs.hex import pettingzoo_env as hex_pettingzoo_env  # noqa: F401 (in __all__)
    from envs.hex.mcts import MCTSPlayer as MCTSPlayer
    from envs.mcts import GenericMCTSPlayer as GenericMCTSPlayer
    from envs.pwm import pwm_env as pwm_env
    from envs.pwm import pwm_vector_env as pwm_vector_env
    from rlagent.agent import Agent as Agent
    from rlagent.agent import load_agent as load_agent
    from rlagent.algos import LEARNERS as LEARNERS
    from rlagent.algos.learner import CollectionNeeds as CollectionNeeds
    from rlagent.algos.learner import Learner as Learner
    from rlagent.algos.learner import LearnerSpec as LearnerSpec
    from rlagent.algos.ppo import PPO as PPO
    from rlagent.algos.ppo import OnPolicyConfig as OnPolicyConfig
    from rlagent.algos.rainbow import Rainbow as Rainbow
    from rlagent.algos.rainbow import RainbowConfig as RainbowConfig
    from rlagent.algos.reinforce import Reinforce as Reinforce
    from rlagent.algos.reinforce import ReinforceConfig as ReinforceConfig
    from rlagent.algos.replay import ReplayBuffer as ReplayBuffer
    from rlagent.config import Config as Config
    from rlagent.config import MonitorConfig as MonitorConfig
    from rlagent.config import SelfPlayConfig as SelfPlayConfig
    from rlagent.config import resolve as resolve
    from rlagent.episodes import play_episodes as play_episodes
    from rlagent.episodes import results_by_seat as results_by_seat
    from rlagent.episodes import trial_accuracy as trial_accuracy
    from rlagent.episodes import win_rates_by_colour as win_rates_by_colour
    from rlagent.errors import CheckpointError as CheckpointError
    from rlagent.errors import ConfigError as ConfigError
    from rlagent.errors import RlagentError as RlagentError
    from rlagent.errors import TrainingError as TrainingError
    from rlagent.games.elo import bradley_terry as bradley_terry
    from rlagent.games.elo import fit_ratings as fit_ratings
    from rlagent.games.elo import wilson_interval as wilson_interval
    from rlagent.games.hex.puct import PUCTPlayer as PUCTPlayer
    from rlagent.games.human import HumanPlayer as HumanPlayer
    from rlagent.games.league import run_league as run_league
    from rlagent.games.matches import play_games as play_games
    from rlagent.games.players import PolicyPlayer as PolicyPlayer
    from rlagent.games.players import RandomPlayer as RandomPlayer
    from rlagent.games.players import make_opponent as make_opponent
    from rlagent.games.players import make_player as make_player
    from rlagent.games.players import parse_player as parse_player
    from rlagent.games.seat_matches import play_seated as play_seated
    from rlagent.games.seat_players import PolicySeatPlayer as PolicySeatPlayer
    from rlagent.games.selfplay import OpponentPool as OpponentPool
    from rlagent.make_env import make_env as make_env
    from rlagent.monitor.activations import measure_activations as measure_activations
    from rlagent.monitor.balance import trunk_gradient_balance as trunk_gradient_balance
    from rlagent.monitor.report import diagnose_run as diagnose_run
    from rlagent.monitor.stages import calibration as calibration
    from rlagent.monitor.stuck import StuckDetector as StuckDetector
    from rlagent.nets.policy import PolicyConfig as PolicyConfig
    from rlagent.nets.policy import build_policy as build_policy
    from rlagent.nets.q_network import QNetwork as QNetwork
    from rlagent.nets.q_network import build_q_network as build_q_network
    from rlagent.rollout import Rollout as Rollout
    from rlagent.run import Trainer as Trainer


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
