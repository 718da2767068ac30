"""``python -m rlagent.tune ALGO --env NAME --space KEY=DIST ...``: a Ray Tune search over hyperparameters.

Examples::

    python -m rlagent.tune ppo --env CartPole-v1 --total-steps 25000 --samples 16 \\
        --space ppo.learning_rate=loguniform:1e-4:1e-2 --space ppo.num_epoch=int:2:10 \\
        --space ppo.clip_param=choice:0.1,0.2,0.3 --space ppo.entropy_coef=uniform:0:0.02
    python -m rlagent.tune reinforce --env pwm --metric trial/accuracy_nontrivial --scheduler asha \\
        --space reinforce.learning_rate=loguniform:3e-4:3e-3 --samples 8
    python -m rlagent.tune ppo --env hex --set selfplay.enabled=true --metric elo/current \\
        --space ppo.entropy_coef=loguniform:1e-4:1e-2 --address auto --storage /shared/tune

Each trial is an ordinary training run (settings resolved as ``rlagent.train`` resolves them, the
sampled values on top of --set) reporting its metrics to Tune every update and its checkpoints to
Tune as it saves them. Results go to STORAGE/NAME/ (default logs/tune/<env>-<algo>-<time>/): one
trial_<id>/run/ run directory per trial, trials.csv, best.yaml (the best trial's settings: train with
them by --config best.yaml) and metric.png. Running the same command again with the same --name
resumes the search; finished trials are not run again. Needs Ray: pip install -e ".[ray]".
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime
from pathlib import Path

from rlagent.cli import OneLineErrorParser, one_line_errors, run_command
from rlagent.config import DEVICES, algorithm_names
from rlagent.gym_envs import resolve_env_id
from rlagent.tuning import MODES, SCHEDULERS, SEARCHES, SPACE_FORMS, SearchSpec, parse_dimension, run_search, table


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog="python -m rlagent.tune",
        description=__doc__.split("\n\n")[0].split(": ", 1)[1],
        epilog=__doc__.split("\n\n", 1)[1].replace("::", ":"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("algo", help=f"learning algorithm: {', '.join(algorithm_names())}")
    parser.add_argument("--env", required=True, help="hex, connect4, arena, pwm, dms, or any registered Gymnasium id (CartPole-v1)")
    parser.add_argument("--space", action="append", default=[], metavar="KEY=DIST", help=f"a searched setting, any --set key: {SPACE_FORMS}")
    parser.add_argument("--samples", type=int, default=8, help="number of trials (default 8)")
    parser.add_argument(
        "--metric",
        default="rollout/ep_rew_mean",
        help="what to optimise, any scalar a run logs: rollout/ep_rew_mean (default), trial/accuracy_nontrivial, elo/current, ...",
    )
    parser.add_argument("--mode", choices=MODES, default="max", help="maximise or minimise the metric (default max)")
    parser.add_argument("--search", choices=SEARCHES, default="random", help="random (default), optuna (pip install optuna) or hyperopt (pip install hyperopt)")
    parser.add_argument("--scheduler", choices=SCHEDULERS, default="none", help="asha: stop poor trials early, compared at equal environment steps")
    parser.add_argument("--grace-steps", type=int, help="asha: steps every trial runs before it can be stopped (default a quarter of the budget)")
    parser.add_argument("--search-seed", type=int, default=0, help="seed of the sampler, so a search draws the same trials again (default 0)")
    parser.add_argument("--config", help="a YAML or JSON file of settings every trial starts from")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="a setting every trial shares")
    parser.add_argument("--total-steps", type=int, help="environment steps per trial (run.total_steps)")
    parser.add_argument("--seed", type=int, help="random seed of every trial (run.seed; search it with --space run.seed=int:0:99)")
    parser.add_argument("--device", choices=DEVICES, help="where each trial's networks run (run.device); with cuda also give --gpus-per-trial")
    parser.add_argument("--name", help="the search's folder under --storage (default <env>-<algo>-<time>); an existing search's name resumes it")
    parser.add_argument(
        "--storage",
        default="logs/tune",
        help="where searches go (default logs/tune). Tune does not copy trial files to the head node: "
        "on a cluster this must be storage every node shares (NFS, or a path all nodes mount)",
    )
    parser.add_argument("--address", help="a running Ray cluster (auto: the one this machine belongs to); default: start Ray on this machine")
    parser.add_argument("--num-cpus", type=int, help="CPUs of the Ray started on this machine (default all); one trial per CPU")
    parser.add_argument("--cpus-per-trial", type=float, default=1.0, help="CPUs each trial reserves (default 1; raise with run.threads)")
    parser.add_argument(
        "--verbose", type=int, choices=(0, 1, 2), default=1, help="Tune's own progress output: 0 none (only the final table), 1 (default), 2 every result"
    )
    parser.add_argument("--gpus-per-trial", type=float, default=0.0, help="GPUs each trial reserves (default 0; fractions share one)")
    return parser


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    extra = {key: value for key, value in (("total_steps", args.total_steps), ("seed", args.seed), ("device", args.device)) if value is not None}
    env_name = resolve_env_id(args.env).split("/")[-1].split("-v")[0].lower()
    spec = SearchSpec(
        algo=args.algo,
        env=args.env,
        space=tuple(parse_dimension(args.algo, text) for text in args.space),
        metric=args.metric,
        mode=args.mode,
        samples=args.samples,
        search=args.search,
        scheduler=args.scheduler,
        grace_steps=args.grace_steps,
        search_seed=args.search_seed,
        config_file=str(Path(args.config).absolute()) if args.config else None,
        overrides=tuple(args.overrides),
        extra=extra,
        name=args.name or f"{env_name}-{args.algo}-{datetime.now().strftime('%Y%m%d-%H%M%S')}",
        storage=str(Path(args.storage).absolute()),
        cpus_per_trial=args.cpus_per_trial,
        gpus_per_trial=args.gpus_per_trial,
    )
    started = time.perf_counter()
    outcome = run_search(spec, address=args.address, num_cpus=args.num_cpus, verbose=args.verbose)
    print(table(outcome, spec))
    state = "resumed" if outcome.resumed else "ran"
    print(f"{state} {len(outcome.rows)} trials in {time.perf_counter() - started:.0f} s; folder {outcome.directory}")
    if not outcome.complete:
        unfinished = sum(row.status == "unfinished" for row in outcome.rows)
        print(f"interrupted with {unfinished} trials unfinished: run the same command (same --name {spec.name}) to resume")
    for label, path in outcome.files.items():
        print(f"{label}: {path}")
    if outcome.best is None:
        errors = [row.error for row in outcome.rows if row.error]
        print(f"no trial reported {spec.metric}" + (f"; the first error: {errors[0]}" if errors else ""))
        return 1
    print(
        f"best: {outcome.best.trial} with {spec.metric} {outcome.best.final:.6g}; "
        f"python -m rlagent.train {spec.algo} --env {spec.env} --config {outcome.files['best']}"
    )
    return 0


if __name__ == "__main__":
    run_command(main)
