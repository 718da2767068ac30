"""``python -m rlagent.evaluate RUN_DIR_OR_CHECKPOINT --opponent random --games 200``.

Plays a trained agent against an opponent, half the games with each colour (Hex has a first-move
advantage, so a single colour flatters or undersells), and prints win rates by colour with 95%
Wilson intervals. For single-agent envs it prints the mean return instead.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from rlagent.checkpoint import check_compatible, check_state_dict_compatible, latest_checkpoint, load_checkpoint, space_signature
from rlagent.config import resolve
from rlagent.errors import CheckpointError, RlagentError
from rlagent.make_env import make_env
from rlagent.monitor.trials import TrialStats
from rlagent.nets import build_policy
from rlagent.players import make_opponent
from rlagent.cli import OneLineErrorParser, run_command


def wilson_interval(wins: float, games: int, z: float = 1.96) -> tuple[float, float]:
    """95% interval for a win rate: unlike the normal approximation it stays inside [0, 1] and is
    honest at 0% or 100%, exactly where a strong agent's results sit."""
    if games == 0:
        return 0.0, 1.0
    p = wins / games
    centre = (p + z * z / (2 * games)) / (1 + z * z / games)
    half = z * math.sqrt(p * (1 - p) / games + z * z / (4 * games * games)) / (1 + z * z / games)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass
class Agent:
    policy: torch.nn.Module
    config: object
    path: Path


def load_agent(path: str | Path) -> Agent:
    """A trained policy from a run directory (its latest checkpoint) or a checkpoint file."""
    path = Path(path)
    if path.is_dir():
        found = latest_checkpoint(path)
        if found is None:
            raise CheckpointError(f"{path} has no checkpoints/step_*.pt: pass a run directory that has trained, or a .pt file")
        path = found
    payload = load_checkpoint(path)
    saved = payload["config"]
    config = resolve(saved["algo"], saved["env"], base=saved)
    env = make_env(config.env, 1, dict(config.env_kwargs))
    check_compatible(payload["spaces"], space_signature(env.single_observation_space, env.single_action_space))
    policy = build_policy(env.single_observation_space, env.single_action_space, config.policy)
    check_state_dict_compatible(payload["model"], policy, source=str(path))
    policy.load_state_dict(payload["model"])
    policy.eval()
    env.close()
    return Agent(policy, config, path)


def play_games(
    agent: Agent,
    games: int,
    opponent: object,
    agent_color: int | None,
    seed: int,
    deterministic: bool,
    trial_stats: TrialStats | None = None,
) -> np.ndarray:
    """Returns of ``games`` finished episodes, played in one batch; a trial task's outcomes also go
    to ``trial_stats`` if given."""
    kwargs = dict(agent.config.env_kwargs)
    if agent_color is not None:
        kwargs.update(agent_color=agent_color, opponent=opponent)
    batch = min(games, 256)
    env = make_env(agent.config.env, batch, kwargs)
    obs, _ = env.reset(seed=seed)
    state = agent.policy.initial_state(batch)
    start = np.ones(batch, dtype=bool)
    running = np.zeros(batch)
    finished: list[float] = []
    generator = torch.Generator().manual_seed(seed)
    # Each slot plays at most its share, so the sample is not biased towards short games.
    quota = np.full(batch, games // batch) + (np.arange(batch) < games % batch)
    while len(finished) < games:
        actions, _, _, state = agent.policy.act(obs, state, start, deterministic=deterministic, generator=generator)
        obs, reward, terminated, truncated, info = env.step(actions)
        running += reward
        start = terminated | truncated
        if trial_stats is not None:
            trial_stats.update(info, start, reward)
        for i in np.flatnonzero(start & (quota > 0)):
            finished.append(float(running[i]))
            quota[i] -= 1
        running[start] = 0.0
    env.close()
    return np.asarray(finished)


def main(argv: list[str] | None = None) -> int:
    parser = OneLineErrorParser(prog="python -m rlagent.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a run directory (its latest checkpoint) or a checkpoint file")
    parser.add_argument("--opponent", default="random", help="for board games: random (default), mctsN (e.g. mcts200), or a run directory / checkpoint")
    parser.add_argument("--games", type=int, default=200, help="games or episodes to play (default 200)")
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--sample", action="store_true", help="sample moves instead of playing the most likely one")
    args = parser.parse_args(argv)
    try:
        if args.games < 2:
            raise RlagentError(f"--games must be at least 2, got {args.games}")
        agent = load_agent(args.run)
        two_player = "agent_color" in _env_parameters(agent)
        print(f"{agent.path} ({agent.config.algo} on {agent.config.env} {dict(agent.config.env_kwargs)})")
        if not two_player:
            trials = TrialStats(window=10**9)
            returns = play_games(agent, args.games, args.opponent, None, args.seed, not args.sample, trials)
            print(f"mean return over {args.games} episodes: {returns.mean():.2f} (std {returns.std():.2f})")
            summary = trials.summary()  # trial tasks: accuracy by kind of condition
            if summary:
                print(f"  {int(summary['trial/trials'])} trials: accuracy {summary['trial/accuracy']:.1%}, "
                      f"on trivial conditions {summary.get('trial/accuracy_trivial', float('nan')):.1%}, "
                      f"on non-trivial {summary.get('trial/accuracy_nontrivial', float('nan')):.1%}; "
                      f"response rate {summary['trial/response_rate']:.1%}, reward per trial {summary['trial/reward_per_trial']:.3f}")
            return 0
        total_wins = 0
        for colour, name in ((0, "first"), (1, "second")):
            games = args.games // 2 if colour == 0 else args.games - args.games // 2
            opponent = make_opponent(args.opponent, seed=args.seed + colour)
            returns = play_games(agent, games, opponent, colour, args.seed + colour, not args.sample)
            wins = int((returns > 0).sum())
            total_wins += wins
            low, high = wilson_interval(wins, games)
            print(f"  as {name:<6} player: won {wins}/{games} = {wins / games:.1%} (95% CI {low:.1%}-{high:.1%})")
        low, high = wilson_interval(total_wins, args.games)
        print(f"  overall vs {args.opponent}: won {total_wins}/{args.games} = {total_wins / args.games:.1%} (95% CI {low:.1%}-{high:.1%})")
    except RlagentError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def _env_parameters(agent: Agent) -> set[str]:
    import inspect

    import gymnasium as gym

    from rlagent.make_env import resolve_env_id

    spec = gym.spec(resolve_env_id(agent.config.env))
    entry = spec.entry_point
    if isinstance(entry, str):
        module, name = entry.split(":")
        entry = getattr(__import__(module, fromlist=[name]), name)
    return set(inspect.signature(entry).parameters)


if __name__ == "__main__":
    run_command(main)
