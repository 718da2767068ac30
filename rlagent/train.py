"""``python -m rlagent.train ALGO --env NAME [options]``: train an agent.

Examples::

    python -m rlagent.train ppo --env hex
    python -m rlagent.train ppo --env CartPole-v1 --total-steps 50000 --seed 1
    python -m rlagent.train ppo --env hex --set env.size=7 --set ppo.clip_param=0.1
    python -m rlagent.train a2c --env CartPole-v1 --config my.yaml
    python -m rlagent.train rainbow --env hex --set rainbow.noisy=false
    python -m rlagent.train ppo --env hex --resume logs/hex-ppo-20261122-101500-s0

Precedence: defaults < the env's tuned preset (experiments/<env>/<algo>.yaml) < --config < --set
< the dedicated flags. Bad input exits with status 2 and one line naming the problem.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rlagent.algos import LEARNERS
from rlagent.cli import OneLineErrorParser, one_line_errors, run_command
from rlagent.config import ALIASES, DEVICES, FAST_MODES, algorithm_names, field_help, resolve
from rlagent.run import Trainer, saved_run_config


def _hyperparameter_table() -> str:
    rows = field_help()
    width = max(len(name) for name, _, _ in rows)
    names = ", ".join(algorithm_names())
    lines = [f"hyperparameters (--set section.key=value with section {names} for the algorithm's; env.KEY=VALUE passes env kwargs):"]
    lines += [f"  {name:<{width}}  {default!r:<12} {kind}" for name, kind, default in rows]
    for name, spec in LEARNERS.items():
        if spec.defaults:  # what a name sets over its section's defaults (a2c over ppo's, dqn over rainbow's)
            changes = ", ".join(f"{key}={value}" for key, value in spec.defaults.items())
            lines.append(f"  {name} defaults: {changes}")
    lines.append("  aliases: " + ", ".join(f"{alias} = {name}" for alias, name in ALIASES.items()))
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog="python -m rlagent.train",
        description=__doc__.split("\n\n")[0].split(": ", 1)[1],
        epilog=_hyperparameter_table(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("algo", help=f"learning algorithm: {', '.join(algorithm_names())}")
    parser.add_argument("--env", required=True, help="hex, connect4, arena, pwm, or any registered Gymnasium id (CartPole-v1)")
    parser.add_argument("--config", help="a YAML or JSON file of sections run/env/<algo>/policy/selfplay")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="override one hyperparameter")
    parser.add_argument("--total-steps", type=int, help="environment steps to train for (run.total_steps)")
    parser.add_argument("--seed", type=int, help="random seed (run.seed)")
    parser.add_argument("--device", choices=DEVICES, help="where the networks run (run.device)")
    parser.add_argument("--fast", choices=FAST_MODES, help="speed paths for small MLP policies: auto (default) or off (run.fast)")
    parser.add_argument("--logdir", help="where run directories go (run.logdir, default logs)")
    parser.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its latest checkpoint")
    return parser


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    extra = {
        key: value
        for key, value in (("total_steps", args.total_steps), ("seed", args.seed), ("device", args.device), ("fast", args.fast), ("logdir", args.logdir))
        if value is not None
    }
    if args.resume:
        run_dir = Path(args.resume)
        saved = saved_run_config(run_dir, args.algo, args.env)
        config = resolve(args.algo, args.env, args.config, args.overrides, extra, base=saved)
        trainer = Trainer(config, run_dir=run_dir, resume=True)
    else:
        config = resolve(args.algo, args.env, args.config, args.overrides, extra)
        trainer = Trainer(config)
    print(json.dumps(config.to_dict(), indent=2, default=str))
    print(f"run directory: {trainer.run_dir}" + (f" (resumed at step {trainer.steps})" if args.resume else ""))
    result = trainer.train()
    summary = {k: round(v, 4) for k, v in result.metrics.items() if k in ("rollout/ep_rew_mean", "rollout/win_rate", "rollout/ep_len_mean")}
    state = "interrupted" if result.interrupted else "finished"
    print(f"{state} after {result.steps} steps ({result.updates} updates): {summary}; run directory {result.run_dir}")
    return 0


if __name__ == "__main__":
    run_command(main)
