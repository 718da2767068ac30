"""Rainbow and DQN: rlagent against Stable-Baselines3's DQN and sb3-contrib's QR-DQN, in one process.

What it runs (CPU, ``torch.set_num_threads(1)`` for every library):

- CartPole-v1 with rl-baselines3-zoo's tuned DQN settings (its ``dqn.yml``): one env, lr 2.3e-3,
  batch 64, buffer 100k, learning_starts 1000, gamma 0.99, target copied every 10 env steps,
  train_freq 256, gradient_steps 128, epsilon 1 -> 0.04 over the first 16% of the run, a [256, 256]
  ReLU MLP; 50,000 steps, ``--seeds`` seeds (5 by default). Four contenders:

  SB3 DQN      ``stable_baselines3.DQN`` with those settings
  QR-DQN       ``sb3_contrib.QRDQN`` with the same settings (50 quantiles); its quantile loss over
               (batch, 50, 50) pairs costs ~20 ms a gradient step on this CPU (~36 env steps/s
               here), so by default it runs one seed for 20,000 steps (``--qrdqn-seeds``,
               ``--qrdqn-steps``): its steps/s, not its learning curve, is what that shows
  ours DQN     ``python -m rlagent.train dqn`` with the same settings (every Rainbow part off),
               set key by key here so a change to a preset cannot change the benchmark
  ours Rainbow the preset ``experiments/cartpole/rainbow.yaml`` (the same settings, every part on)

- ``--ablation``: Rainbow minus each part (double, dueling, prioritized, n-step, distributional,
  noisy), on CartPole (the figures above) and on 5x5 Hex against the random opponent (the Hex
  preset at size 5, a fixed budget of ``--hex-steps``): the greedy agent's win rate over 200
  games against random and 100 against MCTS with 100 simulations, both colours equally.

How it measures, the same way for every library:

- ``steps/s``: env steps over the wall time of training alone; evaluations are timed and
  subtracted (SB3: a callback between rollouts; ours: the Trainer's ``collect`` + ``update``).
- every 2,000 env steps (after the first rollout that reaches each multiple, so every library is
  evaluated after the same updates) and at the end: 10 greedy episodes on separate envs.
- ``stays solved from``: the first evaluation from which every later one has mean >= 475
  ("never" if the last does not); medians over seeds count "never" as later than any step.

Targets (issue 11): ours DQN >= 3x SB3 DQN's steps/s at equal settings; Rainbow stays solved no
later than SB3 DQN's median on 5 of 5 seeds. The script prints whether each was met; it never
asserts. Timings depend on what else runs on the machine: compare ratios from one run.

    python benchmarks/rainbow_vs_sb3.py [--seeds 5] [--steps 50000] [--quick] [--ablation] [--curves]

``--quick``: one seed, 6,000 steps (a smoke test). The full comparison takes ~25 minutes on two
cores; ``--ablation`` adds about as much again.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ppo_vs_sb3 import Predict, RunStats, fmt_step, make_sb3_callback, median_min_max, met, run_episodes, sb3_predict, solved_median  # noqa: E402

import envs  # noqa: E402,F401  (registers rlagent/Hex-v0)
from rlagent.config import resolve  # noqa: E402
from rlagent.games.elo import wilson_interval  # noqa: E402
from rlagent.run import Trainer  # noqa: E402

EVAL_EVERY = 2_000
EVAL_EPISODES = 10
EVAL_SEED = 10_000
ZOO = dict(
    learning_rate=2.3e-3,
    batch_size=64,
    buffer_size=100_000,
    learning_starts=1000,
    gamma=0.99,
    target_update_interval=10,
    train_freq=256,
    gradient_steps=128,
    exploration_fraction=0.16,
    exploration_final_eps=0.04,
)
OUR_ZOO = [
    "{a}.learning_rate=2.3e-3",
    "{a}.batch_size=64",
    "{a}.buffer_size=100000",
    "{a}.learning_starts=1000",
    "{a}.discount_factor=0.99",
    "{a}.target_update_interval=10",
    "{a}.train_freq=256",
    "{a}.gradient_steps=128",
    "{a}.exploration_fraction=0.16",
    "{a}.exploration_final_eps=0.04",
    "{a}.exploration_initial_eps=1.0",
    "{a}.max_grad_norm=10",
    "{a}.loss=huber",
    "{a}.adam_eps=1e-8",
    "{a}.tau=1.0",
    "run.num_envs=1",
    "policy.encoder=mlp",
    "policy.hidden_sizes=[256, 256]",
    "policy.activation=relu",
    "policy.ortho_init=false",
]
PARTS = ("double", "dueling", "prioritized", "n_step", "distributional", "noisy")


def cartpole_eval(predict: Predict) -> float:
    return float(run_episodes("CartPole-v1", {}, predict, EVAL_EPISODES, EVAL_SEED).mean())


def our_predict(trainer: Trainer) -> Predict:
    network = trainer.policy

    def predict(obs: Any) -> np.ndarray:
        network.eval()  # noisy layers at their mean weights
        try:
            return network.act(obs, None, None, deterministic=True)[0]
        finally:
            network.train()

    return predict


def run_ours(
    algo: str, env: str, steps: int, seed: int, overrides: list[str], evaluate: Callable[[Predict], float] | None, logdir: str, label: str
) -> RunStats:
    """Train with the Trainer's pieces (collect, update), timing only those two calls."""
    stats = RunStats(label, seed)
    config = resolve(algo, env, overrides=["run.progress=false", *overrides], extra={"total_steps": steps, "seed": seed, "device": "cpu", "logdir": logdir})
    begin = time.perf_counter()
    trainer = Trainer(config)
    stats.startup = time.perf_counter() - begin
    next_eval, done = EVAL_EVERY, 0
    while done < steps:
        if evaluate is not None and done >= next_eval:
            stats.evals.append((done, evaluate(our_predict(trainer))))
            while next_eval <= done:
                next_eval += EVAL_EVERY
        t0 = time.perf_counter()
        rollout = trainer.collector.collect()
        t1 = time.perf_counter()
        trainer.algo.update(rollout)
        t2 = time.perf_counter()
        stats.collect += t1 - t0
        stats.update += t2 - t1
        done += trainer.steps_per_update
    stats.steps, stats.train = done, stats.collect + stats.update
    if evaluate is not None:
        stats.evals.append((done, evaluate(our_predict(trainer))))
    stats.model = trainer
    return stats


def run_sb3(kind: str, steps: int, seed: int) -> RunStats:
    """SB3's DQN or sb3-contrib's QR-DQN with the zoo's settings; a callback evaluates between rollouts."""
    import gymnasium as gym

    stats = RunStats(kind, seed)
    callback = make_sb3_callback(stats, cartpole_eval, masked=False, every=EVAL_EVERY)
    begin = time.perf_counter()
    env = gym.make("CartPole-v1")
    if kind == "SB3 DQN":
        from stable_baselines3 import DQN

        model = DQN("MlpPolicy", env, policy_kwargs=dict(net_arch=[256, 256]), seed=seed, device="cpu", **ZOO)
    else:
        from sb3_contrib import QRDQN

        model = QRDQN("MlpPolicy", env, policy_kwargs=dict(net_arch=[256, 256]), seed=seed, device="cpu", **ZOO)
    model.learn(steps, callback=callback)
    end = time.perf_counter()
    stats.startup = callback.first_step - begin
    stats.steps = model.num_timesteps
    stats.train = end - callback.first_step - callback.eval_time
    stats.update = stats.train - stats.collect
    stats.evals.append((model.num_timesteps, cartpole_eval(sb3_predict(model))))
    return stats


def done(args: argparse.Namespace, runs: list[RunStats]) -> list[RunStats]:
    """Print a contender's figures as soon as its runs finish (a long comparison shows progress)."""
    print(
        f"  {runs[0].library}: steps/s {median_min_max([r.rate for r in runs])}, stays solved from "
        f"{', '.join(fmt_step(r.solved_from) for r in runs)}, final {', '.join(f'{r.final:.0f}' for r in runs)}",
        flush=True,
    )
    return runs


def print_table(title: str, groups: list[list[RunStats]], curves: bool) -> None:
    print(f"\n== {title} ==")
    header = f"{'':<18} {'steps/s median (min-max)':<26} {'collect/update s':>17}  {'stays solved from: median (per seed)':<44} final eval per seed"
    print(header)
    print("-" * len(header))
    for runs in groups:
        rates = median_min_max([r.rate for r in runs])
        split = f"{statistics.median([r.collect for r in runs]):.1f}/{statistics.median([r.update for r in runs]):.1f}"
        solved = f"{fmt_step(solved_median(runs))} ({', '.join(fmt_step(r.solved_from) for r in runs)})"
        finals = ", ".join(f"{r.final:.0f}" for r in runs)
        print(f"{runs[0].library:<18} {rates:<26} {split:>17}  {solved:<44} {finals}")
        if curves:
            for r in runs:
                print(f"    seed {r.seed}: " + " ".join(f"{s // 1000}k:{m:.0f}" for s, m in r.evals))


def hex_results(trainer: Trainer, games: int = 200, mcts_games: int = 100) -> tuple[str, str]:
    """Greedy win rates on 5x5 against random and MCTS-100, both colours equally."""
    predict = our_predict(trainer)
    size = int(trainer.config.env_kwargs.get("size", 5))
    out = []
    for opponent, n in (("random", games), ("mcts100", mcts_games)):
        wins = 0
        for colour in (0, 1):
            returns = run_episodes("hex", {"size": size, "agent_color": colour, "opponent": opponent}, predict, n // 2, 7 + colour)
            wins += int((returns > 0).sum())
        low, high = wilson_interval(wins, n)
        out.append(f"{wins / n:.0%} [{low:.0%}, {high:.0%}]")
    return out[0], out[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=50_000)
    parser.add_argument("--quick", action="store_true", help="one seed, 6,000 steps: a smoke test")
    parser.add_argument("--ablation", action="store_true", help="also Rainbow minus each part, on CartPole and 5x5 Hex")
    parser.add_argument("--ablation-seeds", type=int, default=3)
    parser.add_argument("--qrdqn-seeds", type=int, default=1, help="QR-DQN's quantile loss is slow here (~20 ms a gradient step)")
    parser.add_argument("--qrdqn-steps", type=int, default=20_000)
    parser.add_argument("--hex-steps", type=int, default=100_000)
    parser.add_argument("--curves", action="store_true", help="print every evaluation of every run")
    parser.add_argument("--skip-sb3", action="store_true", help="only our runs (for tuning)")
    parser.add_argument("--only-ablation", action="store_true", help="the ablation alone, without the comparison")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.steps, args.ablation_seeds, args.hex_steps, args.qrdqn_steps = 1, 6_000, 1, 6_000, 3_000
    torch.set_num_threads(1)
    seeds = list(range(args.seeds))
    logdir = tempfile.mkdtemp(prefix="rainbow_vs_sb3_")
    print(f"CartPole-v1, zoo DQN settings, {args.steps:,} steps, seeds {seeds}, one torch thread")

    if args.only_ablation:
        return run_ablation(args, logdir)
    ours_dqn = done(
        args, [run_ours("dqn", "CartPole-v1", args.steps, s, [o.format(a="dqn") for o in OUR_ZOO], cartpole_eval, logdir, "ours DQN") for s in seeds]
    )
    ours_rainbow = done(args, [run_ours("rainbow", "CartPole-v1", args.steps, s, [], cartpole_eval, logdir, "ours Rainbow") for s in seeds])
    groups = [ours_dqn, ours_rainbow]
    if not args.skip_sb3:
        sb3 = done(args, [run_sb3("SB3 DQN", args.steps, s) for s in seeds])
        qrdqn = done(args, [run_sb3("QR-DQN", args.qrdqn_steps, s) for s in seeds[: args.qrdqn_seeds]])
        groups = [sb3, qrdqn, ours_dqn, ours_rainbow]
    print_table("CartPole-v1", groups, args.curves)
    if not args.skip_sb3:
        ratio = statistics.median([r.rate for r in ours_dqn]) / statistics.median([r.rate for r in sb3])
        print(f"\nours DQN / SB3 DQN steps/s: {ratio:.2f}x  (target >= 3x: {met(ratio >= 3.0)})")
        print(f"ours Rainbow / SB3 DQN steps/s: {statistics.median([r.rate for r in ours_rainbow]) / statistics.median([r.rate for r in sb3]):.2f}x")
        bar = solved_median(sb3)
        on_time = sum(r.solved_from is not None and r.solved_from <= bar for r in ours_rainbow)
        print(
            f"Rainbow stays solved no later than SB3 DQN's median ({fmt_step(bar)}) on {on_time} of {len(ours_rainbow)} seeds "
            f"(target {len(ours_rainbow)} of {len(ours_rainbow)}: {met(on_time == len(ours_rainbow))})"
        )

    if args.ablation:
        run_ablation(args, logdir)


def run_ablation(args: argparse.Namespace, logdir: str) -> None:
    """Rainbow minus each part: on CartPole (the comparison's figures) and on 5x5 Hex (win rates)."""
    ablation_seeds = list(range(args.ablation_seeds))
    variants = [("Rainbow", [])] + [(f"- {part}", [f"rainbow.{part}={'1' if part == 'n_step' else 'false'}"]) for part in PARTS]
    rows = [[run_ours("rainbow", "CartPole-v1", args.steps, s, overrides, cartpole_eval, logdir, name) for s in ablation_seeds] for name, overrides in variants]
    print_table(f"Ablation on CartPole-v1 ({args.steps:,} steps, seeds {ablation_seeds})", rows, args.curves)
    print(f"\n== Ablation on 5x5 Hex vs random: the Hex preset at size 5, {args.hex_steps:,} steps, seed 0; greedy win rate [95% CI] ==")
    print(f"{'':<18} {'steps/s':>9}  {'vs random (200)':<20} {'vs mcts100 (100)':<20}")
    for name, overrides in variants:
        run = run_ours("rainbow", "hex", args.hex_steps, 0, ["env.size=5", *overrides], None, logdir, name)
        vs_random, vs_mcts = hex_results(run.model)
        print(f"{name:<18} {run.rate:>9,.0f}  {vs_random:<20} {vs_mcts:<20}", flush=True)


if __name__ == "__main__":
    main()
