"""The actor/critic loss-weight study on pwm5: which critic weights learn, with which loss form?

A published study (REINFORCE with a critic, LSTM, pwm5) found learning only for critic weights
2 to 5 at lr 0.005, value-loss explosions at low weights, and a best weight that moved with the
episode length. This script runs its grid twice: with rlagent's REINFORCE (advantage detached,
policy and value losses both means over steps) and with ``reinforce.legacy_loss=true`` (the
study's form: advantage attached, policy loss summed over time).

Grid: critic weight {0.5, 1, 2, 3, 4, 5, 10} x lr {0.001, 0.005, 0.01} x seeds x epoch_len {15, 60}
x loss {normalised, legacy}; every cell trains a GRU actor-critic for ``--episodes`` episodes on
16 envs and is then scored greedily on fresh trials. Outputs, in ``--out``:

- ``results.csv``: one row per cell (final accuracy overall and on non-trivial conditions, final
  and largest value loss, the episode the training accuracy first reached 95%);
- ``heatmaps.png``: mean final non-trivial accuracy over seeds, weight x lr, one panel per loss
  form and episode length;
- ``curves.png``: training accuracy on non-trivial conditions against episodes at lr 0.005.

    python experiments/loss_weight_study/run.py [--seeds 3] [--episodes 2000] [--workers 2] [--backend local|ray [--address auto]] [--out experiments/loss_weight_study/results]
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np

from rlagent.distributed import add_backend_arguments, start_backend
from rlagent.errors import RlagentError
from rlagent.sweep import Cell, CellResult, first_step_at, run_sweep

WEIGHTS = (0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 10.0)
RATES = (0.001, 0.005, 0.01)
LENGTHS = (15, 60)
LOSSES = ("normalised", "legacy")
NUM_ENVS = 16
NETWORK = ("policy.recurrent=gru", "policy.recurrent_hidden=64", "policy.hidden_sizes=[64]")
COLUMNS = ("loss", "epoch_len", "weight", "lr", "seed", "accuracy", "accuracy_nontrivial", "value_loss_final", "value_loss_max", "episode_95")


def grid(seeds: int, episodes: int) -> list[Cell]:
    cells = []
    for loss in LOSSES:
        for length in LENGTHS:
            for weight in WEIGHTS:
                for lr in RATES:
                    for seed in range(seeds):
                        overrides = (
                            "env.task=pwm5",
                            f"env.epoch_len={length}",
                            f"run.num_envs={NUM_ENVS}",
                            *NETWORK,
                            f"reinforce.value_loss_coef={weight}",
                            f"reinforce.learning_rate={lr}",
                            f"reinforce.legacy_loss={'true' if loss == 'legacy' else 'false'}",
                        )
                        tags = (("loss", loss), ("epoch_len", length), ("weight", weight), ("lr", lr), ("seed", seed))
                        cells.append(Cell("reinforce", "pwm", overrides, episodes * length, seed, tags))
    return cells


def row(result: CellResult) -> dict[str, object]:
    tags, length = result.tags, result.tags["epoch_len"]
    values = [r["train/value_loss"] for r in result.curve if "train/value_loss" in r]
    reached = first_step_at(result.curve, "trial/accuracy_nontrivial", 0.95)
    return {
        **tags,
        "accuracy": result.evaluation.get("trial/accuracy", float("nan")),
        "accuracy_nontrivial": result.evaluation.get("trial/accuracy_nontrivial", float("nan")),
        "value_loss_final": values[-1] if values else float("nan"),
        "value_loss_max": max(values) if values else float("nan"),
        "episode_95": "" if reached is None else int(reached) // length,
    }


def write_csv(rows: list[dict[str, object]], path: Path) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def plot(rows: list[dict[str, object]], results: list[CellResult], out: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(12, 8))
    FigureCanvasAgg(figure)
    for panel, (loss, length) in enumerate((kind, n) for kind in LOSSES for n in LENGTHS):
        axes = figure.add_subplot(2, 2, panel + 1)
        table = np.full((len(WEIGHTS), len(RATES)), np.nan)
        for i, weight in enumerate(WEIGHTS):
            for j, lr in enumerate(RATES):
                scores = [r["accuracy_nontrivial"] for r in rows if (r["loss"], r["epoch_len"], r["weight"], r["lr"]) == (loss, length, weight, lr)]
                table[i, j] = np.mean(scores) if scores else np.nan
        image = axes.imshow(table, vmin=0.4, vmax=1.0, cmap="viridis", aspect="auto")
        for (i, j), value in np.ndenumerate(table):
            axes.text(j, i, f"{value:.0%}", ha="center", va="center", color="white" if value < 0.8 else "black", fontsize=8)
        axes.set_xticks(range(len(RATES)), [str(r) for r in RATES])
        axes.set_yticks(range(len(WEIGHTS)), [str(w) for w in WEIGHTS])
        axes.set_xlabel("learning rate")
        axes.set_ylabel("critic weight")
        axes.set_title(f"{loss} loss, epoch_len {length}: non-trivial accuracy")
        figure.colorbar(image, ax=axes)
    figure.tight_layout()
    figure.savefig(out / "heatmaps.png", dpi=90)

    figure = Figure(figsize=(12, 8))
    FigureCanvasAgg(figure)
    for panel, (loss, length) in enumerate((kind, n) for kind in LOSSES for n in LENGTHS):
        axes = figure.add_subplot(2, 2, panel + 1)
        for weight in WEIGHTS:
            curves = [r.curve for r in results if (r.tags["loss"], r.tags["epoch_len"], r.tags["weight"], r.tags["lr"]) == (loss, length, weight, 0.005)]
            for k, curve in enumerate(curves):
                points = [(c["step"] / length, c["trial/accuracy_nontrivial"]) for c in curve if "trial/accuracy_nontrivial" in c]
                if points:
                    x, y = zip(*points)
                    axes.plot(x, y, color=f"C{WEIGHTS.index(weight)}", alpha=0.7, label=f"w={weight}" if k == 0 else None)
        axes.axhline(0.5, color="grey", linestyle="--", linewidth=1)
        axes.set_ylim(0.0, 1.02)
        axes.set_xlabel("episodes")
        axes.set_ylabel("non-trivial accuracy (training)")
        axes.set_title(f"{loss} loss, epoch_len {length}, lr 0.005")
        axes.legend(fontsize=7, loc="lower right")
    figure.tight_layout()
    figure.savefig(out / "curves.png", dpi=90)


def summarise(rows: list[dict[str, object]]) -> None:
    """The headline numbers the README quotes."""
    for loss in LOSSES:
        for length in LENGTHS:
            cells = [r for r in rows if r["loss"] == loss and r["epoch_len"] == length]
            learned = [r for r in cells if r["accuracy_nontrivial"] >= 0.95]
            exploded = [r for r in cells if r["value_loss_max"] > 10]
            by_weight = {w: np.mean([r["accuracy_nontrivial"] >= 0.95 for r in cells if r["weight"] == w]) for w in WEIGHTS}
            print(
                f"{loss:>10} loss, epoch_len {length:>2}: {len(learned)}/{len(cells)} runs reach 95% non-trivial; "
                f"value loss > 10 in {len(exploded)}; share learned by critic weight: " + ", ".join(f"{w:g}: {share:.0%}" for w, share in by_weight.items())
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--episodes", type=int, default=2000)
    parser.add_argument(
        "--workers", type=int, default=2, help="processes to run cells in (default 2); with --backend ray and no --address, the cores of the Ray it starts"
    )
    add_backend_arguments(parser)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args()
    try:
        start_backend(args.backend, args.address, num_cpus=args.workers if args.workers > 0 else None)
    except RlagentError as error:  # Ray missing, or no cluster at --address: one line, not a traceback
        parser.error(str(error))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    results = run_sweep(grid(args.seeds, args.episodes), workers=args.workers, eval_episodes=400, backend=args.backend)
    failed = [r for r in results if r.error]
    if failed:
        print(f"{len(failed)} cells failed, e.g. {failed[0].cell.command()}: {failed[0].error}")
    rows = [row(r) for r in results if not r.error]
    write_csv(rows, out / "results.csv")
    plot(rows, [r for r in results if not r.error], out)
    summarise(rows)
    print(f"{len(rows)} cells in {time.perf_counter() - start:.0f} s; wrote {out / 'results.csv'}, heatmaps.png, curves.png")


if __name__ == "__main__":
    main()
