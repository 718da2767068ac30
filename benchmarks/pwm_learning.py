"""The PWM learning bar: does a recurrent agent learn to hold a stimulus across the delay?

pwm5 with the seed preset (3-step trials: stimulus 1, one delay step, stimulus 2 and the answer),
2,000 episodes per run, 16 envs, 3 seeds:

- REINFORCE-GRU with a learned critic (shared GRU trunk, lr 0.005) for every critic weight
  (``reinforce.value_loss_coef``) in {0.5, 1, 2, 5}, at epoch_len 15 (5 trials an episode) and
  epoch_len 60 (20 trials);
- PPO-GRU and A2C-GRU at both lengths (discount 0.5: see ``ON_POLICY``).

For each run it prints the greedy policy's accuracy on non-trivial conditions over 400 fresh
episodes after training (2,000 trials at epoch_len 15, 8,000 at 60; the memoryless plateau is 50%
there, 62.5% overall): the bar is >= 95% on every seed. Beside it, the episode at which the training accuracy on non-trivial
conditions (a window of the last 1,000 trials, with the exploring policy) first reached 95%.
Prints; never asserts.

    python benchmarks/pwm_learning.py [--seeds 3] [--episodes 2000] [--workers 2] [--backend local|ray [--address auto]]
"""

from __future__ import annotations

import argparse
import statistics
import time

from rlagent.distributed import add_backend_arguments, start_backend
from rlagent.errors import RlagentError
from rlagent.sweep import Cell, first_step_at, run_sweep

WEIGHTS = (0.5, 1.0, 2.0, 5.0)
LENGTHS = (15, 60)
NUM_ENVS = 16
BAR = 0.95

# PPO/A2C on whole episodes with a GRU: recurrent minibatches are whole env sequences.
# Their returns run across the trials of an episode (no trial cuts), so a discount of 0.5 keeps the
# next trials' rewards out of a trial's credit (the reward follows the answer within the trial);
# with discount 1 neither learns in this budget.
ON_POLICY = {
    "ppo": (
        "ppo.num_steps={length}",
        "ppo.num_minibatch=4",
        "ppo.num_epoch=4",
        "ppo.learning_rate=0.003",
        "ppo.entropy_coef=0.01",
        "ppo.discount_factor=0.5",
        "ppo.gae_lambda=0.95",
    ),
    "a2c": (
        "a2c.num_steps={length}",
        "a2c.learning_rate=0.003",
        "a2c.entropy_coef=0.01",
        "a2c.discount_factor=0.5",
        "a2c.gae_lambda=1.0",
        "a2c.optimizer=adam",
    ),
}
REINFORCE_LR = 0.005  # the published study's learning rate
NETWORK = ("policy.recurrent=gru", "policy.recurrent_hidden=64", "policy.hidden_sizes=[64]")


def cells(seeds: int, episodes: int) -> list[Cell]:
    grid = []
    for length in LENGTHS:
        env = ("env.task=pwm5", f"env.epoch_len={length}", f"run.num_envs={NUM_ENVS}", *NETWORK)
        steps = episodes * length
        for weight in WEIGHTS:
            for seed in range(seeds):
                grid.append(
                    Cell(
                        "reinforce",
                        "pwm",
                        (*env, f"reinforce.value_loss_coef={weight}", f"reinforce.learning_rate={REINFORCE_LR}"),
                        steps,
                        seed,
                        (("algo", "reinforce"), ("length", length), ("weight", weight)),
                    )
                )
        for algo, settings in ON_POLICY.items():
            for seed in range(seeds):
                grid.append(
                    Cell(algo, "pwm", (*env, *(s.format(length=length) for s in settings)), steps, seed, (("algo", algo), ("length", length), ("weight", None)))
                )
    return grid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--episodes", type=int, default=2000, help="episodes per run, over all envs (default 2000)")
    parser.add_argument(
        "--workers", type=int, default=2, help="processes to run cells in (default 2); with --backend ray and no --address, the cores of the Ray it starts"
    )
    add_backend_arguments(parser)
    args = parser.parse_args()
    try:
        start_backend(args.backend, args.address, num_cpus=args.workers if args.workers > 0 else None)
    except RlagentError as error:  # Ray missing, or no cluster at --address: one line, not a traceback
        parser.error(str(error))
    start = time.perf_counter()
    results = run_sweep(cells(args.seeds, args.episodes), workers=args.workers, eval_episodes=2000 // 5, backend=args.backend)
    print(
        f"pwm5, seed preset, {args.episodes} episodes per run on {NUM_ENVS} envs, GRU 64; greedy accuracy on "
        f"non-trivial conditions after training, and the episode the training accuracy first reached {BAR:.0%}"
    )
    header = f"{'algo':<10} {'epoch_len':>9} {'critic w':>8}  {'non-trivial acc per seed':<26} {'training 95% at episode':<26} bar"
    print(header)
    print("-" * len(header))
    groups: dict[tuple, list] = {}
    for result in results:
        tags = result.tags
        groups.setdefault((tags["algo"], tags["length"], tags["weight"]), []).append(result)
    for (algo, length, weight), group in groups.items():
        errors = [r.error for r in group if r.error]
        if errors:
            print(f"{algo:<10} {length:>9} {weight or '-':>8}  error: {errors[0]}")
            continue
        accuracy = [r.evaluation.get("trial/accuracy_nontrivial", float("nan")) for r in group]
        reached = [first_step_at(r.curve, "trial/accuracy_nontrivial", BAR) for r in group]
        episodes = ["-" if s is None else f"{int(s) // length}" for s in reached]
        met = all(a >= BAR for a in accuracy)
        accs = " / ".join(f"{a:.1%}" for a in accuracy)
        print(f"{algo:<10} {length:>9} {weight if weight is not None else '-':>8}  {accs:<26} {' / '.join(episodes):<26} {'met' if met else 'NOT met'}")
    overall = [r.evaluation.get("trial/accuracy", float("nan")) for r in results if not r.error]
    print(f"median overall accuracy {statistics.median(overall):.1%} over {len(overall)} runs; wall time {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
